/** The report's tables as rows of strings, shared by the Markdown and HTML writers. */
import { modelShape } from '../models/config.ts';
import type { ExperimentResults } from '../experiment/results.ts';
import { formatFlops } from '../experiment/flops.ts';

export interface Table {
  title: string;
  head: string[];
  rows: string[][];
}

const f4 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(4));

export function runsTable(r: ExperimentResults): Table {
  return {
    title: 'Runs',
    head: [
      'run',
      'initial val loss',
      'final val loss',
      'steps to target',
      'speed-up',
      'FLOPs to target',
      'FLOPs to target incl. source + growth',
      'speed-up incl. source (FLOPs)',
      'warm-up',
      'peak lr',
      'growth check',
      'seconds',
    ],
    rows: r.runs.map((x) => [
      x.label,
      f4(x.initial_val_loss),
      f4(x.final_val_loss),
      x.steps_to_target === null ? `never (in ${x.steps})` : String(x.steps_to_target),
      x.speedup_display,
      formatFlops(x.flops_to_target),
      formatFlops(x.flops_to_target_with_source),
      paid(x.speedup_with_source),
      x.hold ? `${x.warmup}, then ${x.hold} at peak` : String(x.warmup),
      x.lr === undefined ? '-' : String(+x.lr.toPrecision(4)),
      x.growth
        ? `${x.growth.verdict ?? ''}${x.growth.loss_change !== undefined ? ` (loss ${x.growth.loss_change >= 0 ? '+' : ''}${x.growth.loss_change.toExponential(2)})` : ''}`
        : '-',
      x.seconds.toFixed(1),
    ]),
  };
}

/** Every learning-rate tuning run (`--tune-lr`), and which rate each run was given. */
export function tuningTable(r: ExperimentResults): Table | undefined {
  const t = r.tuning;
  if (!t) return undefined;
  return {
    title: `Learning-rate tuning (${t.steps} steps per tuning run)`,
    head: ['run', 'lr', `val loss at step ${t.steps}`, 'chosen'],
    rows: t.runs.map((x) => [x.run, String(x.lr), f4(x.final_val_loss), t.chosen[x.run] === x.lr ? 'yes' : '']),
  };
}

const paid = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${x.toFixed(2)}x`);

/** `--source-ages`: per source age, the source's cost and loss there, and each run grown from it. */
export function agesTable(r: ExperimentResults): Table | undefined {
  if (!r.ages) return undefined;
  return {
    title: 'Growing at several source ages',
    head: [
      'source age (steps)',
      'source tokens',
      'source training FLOPs',
      'source val loss',
      'run',
      'val loss at step 0',
      'final val loss',
      'steps to target',
      'speed-up (source free)',
      'FLOPs to target incl. source to this age',
      'speed-up incl. source to this age (FLOPs)',
    ],
    rows: r.ages.flatMap((a) =>
      a.runs.map((x) => [
        `${a.step}${a.final ? ' (final)' : ''}`,
        String(a.tokens),
        formatFlops(a.training_flops),
        f4(a.val_loss),
        x.label,
        f4(x.initial_val_loss),
        f4(x.final_val_loss),
        x.steps_to_target === null ? `never (in ${x.steps})` : String(x.steps_to_target),
        x.speedup_display,
        formatFlops(x.flops_to_target_with_source),
        paid(x.speedup_with_source),
      ]),
    ),
  };
}

/** One table per dataset: every model's loss, perplexity and accuracy. */
export function datasetTables(r: ExperimentResults): Table[] {
  return r.datasets.map((d) => ({
    title: `Dataset ${d.name} (${d.windows} windows of ${r.settings['eval_ctx']} tokens)`,
    head: ['model', 'stage', 'loss', 'perplexity', 'accuracy'],
    rows: r.evaluations.map((e) => {
      const s = e.scores[d.name];
      return [e.run ?? 'source', e.stage, f4(s?.loss), s ? s.perplexity.toFixed(2) : '-', s ? `${(100 * s.accuracy).toFixed(2)}%` : '-'];
    }),
  }));
}

export function settingsTable(r: ExperimentResults): Table {
  const s = modelShape(r.source.config);
  const t = modelShape(r.target.config);
  const rows: string[][] = [
    [
      'source',
      `${r.source.dir} (${r.source.config.family}, hidden ${s.hidden}, ${s.layers} layers, ${s.heads} heads, ffn ${s.ffn}; ${r.source.parameters} parameters)`,
    ],
    ['target', `${r.target.spec} -> hidden ${t.hidden}, ${t.layers} layers, ${t.heads} heads, ffn ${t.ffn}; ${r.target.parameters} parameters`],
    ...(r.source.trained_here
      ? [
          [
            'source training',
            `trained here: ${r.source.trained_here.steps} steps of ${r.source.trained_here.batch} x ${r.source.trained_here.ctx} tokens (${r.source.training_tokens} tokens, ${formatFlops(r.source.training_flops)}, ${r.source.trained_here.sampler} sampler) on ${r.source.trained_here.data}, lr ${r.source.trained_here.lr}, ${r.source.trained_here.seconds.toFixed(0)} s; run ${r.source.trained_here.run}`,
          ],
        ]
      : []),
    ['backend', r.backend],
    ...Object.entries(r.settings).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]),
    ['target val loss', f4(r.target_val_loss)],
    ['scratch steps to target', String(r.scratch_steps_to_target)],
    ['wall time', `${r.seconds.toFixed(0)} s`],
  ];
  return { title: 'Settings', head: ['setting', 'value'], rows };
}
