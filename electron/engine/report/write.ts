/**
 * Writes an experiment's report.md (with the chart as report-loss.svg beside it) and a
 * self-contained report.html (chart inline), atomically.
 */
import * as path from 'node:path';
import type { ExperimentResults } from '../experiment/results.ts';
import { atomicWriteFile } from '../io/atomic.ts';
import { escapeXml, lineChartSvg, type Series } from './svg-chart.ts';
import { measuredLines } from './measured.ts';
import { agesTable, datasetTables, runsTable, settingsTable, type Table, tuningTable } from './tables.ts';

export function lossChart(r: ExperimentResults): string {
  const series: Series[] = r.runs.map((x) => ({ name: x.label, points: x.curve.map((p) => ({ x: p.step, y: p.val_loss })), dashed: x.method === 'scratch' }));
  return lineChartSvg(
    series,
    [
      { name: 'target (scratch final)', y: r.target_val_loss },
      { name: 'source model', y: r.source.val_loss, color: '#999', dash: '2 4' },
    ],
    { xLabel: 'training step', yLabel: 'validation loss (nats/token)', title: 'Validation loss: grown models vs. scratch' },
  );
}

function headline(r: ExperimentResults): string[] {
  return r.runs
    .filter((x) => x.method !== 'scratch')
    .map(
      (x) =>
        `${x.label}: ${x.speedup_display}${x.speedup_kind === 'measured' ? ` (reached the target at step ${x.steps_to_target}; scratch at ${r.scratch_steps_to_target})` : ''}`,
    );
}

function mdTable(t: Table): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `### ${t.title}`,
    '',
    `| ${t.head.map(esc).join(' | ')} |`,
    `| ${t.head.map(() => '---').join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
    '',
  ].join('\n');
}

export function reportMarkdown(r: ExperimentResults, chartFile: string): string {
  return [
    '# Scion experiment: grown vs. from scratch',
    '',
    `Source ${r.source.dir} grown to ${r.target.spec}; every run trained ${r.settings['steps']} steps with the same seed, data order and budget.`,
    '',
    '## What was measured',
    '',
    ...measuredLines(r).map((l) => `- ${l}`),
    '',
    `![validation loss](${chartFile})`,
    '',
    "## Steps to the scratch run's final validation loss",
    '',
    ...headline(r).map((l) => `- ${l}`),
    '',
    mdTable(runsTable(r)),
    ...[agesTable(r), tuningTable(r)].filter((t) => t !== undefined).map(mdTable),
    '## Evaluations',
    '',
    ...datasetTables(r).map(mdTable),
    '## Settings',
    '',
    mdTable(settingsTable(r)),
    '## Notes',
    '',
    ...r.notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
}

function htmlTable(t: Table): string {
  return [
    `<h3>${escapeXml(t.title)}</h3>`,
    '<table>',
    `<thead><tr>${t.head.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead>`,
    `<tbody>${t.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeXml(c)}</td>`).join('')}</tr>`).join('\n')}</tbody>`,
    '</table>',
  ].join('\n');
}

export function reportHtml(r: ExperimentResults): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Scion experiment report</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; padding: 0 1rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; }
th { background: #f3f3f3; }
td:not(:first-child) { font-variant-numeric: tabular-nums; }
</style></head><body>
<h1>Scion experiment: grown vs. from scratch</h1>
<p>Source <code>${escapeXml(r.source.dir)}</code> grown to <code>${escapeXml(r.target.spec)}</code>; every run trained ${escapeXml(String(r.settings['steps']))} steps with the same seed, data order and budget.</p>
<h2>What was measured</h2>
<ul>${measuredLines(r)
    .map((l) => `<li>${escapeXml(l)}</li>`)
    .join('')}</ul>
${lossChart(r)}
<h2>Steps to the scratch run's final validation loss</h2>
<ul>${headline(r)
    .map((l) => `<li>${escapeXml(l)}</li>`)
    .join('')}</ul>
${htmlTable(runsTable(r))}
${[agesTable(r), tuningTable(r)]
  .filter((t) => t !== undefined)
  .map(htmlTable)
  .join('\n')}
<h2>Evaluations</h2>
${datasetTables(r).map(htmlTable).join('\n')}
<h2>Settings</h2>
${htmlTable(settingsTable(r))}
<h2>Notes</h2>
<ul>${r.notes.map((n) => `<li>${escapeXml(n)}</li>`).join('')}</ul>
</body></html>
`;
}

export async function writeReports(outDir: string, r: ExperimentResults): Promise<void> {
  const chart = 'report-loss.svg';
  await atomicWriteFile(path.join(outDir, chart), lossChart(r));
  await atomicWriteFile(path.join(outDir, 'report.md'), reportMarkdown(r, chart));
  await atomicWriteFile(path.join(outDir, 'report.html'), reportHtml(r));
}
