/** The bench's printed report: one table of every measurement with its ratios, the profiles, then the optional sections (threads, webgpu, growth). */
import type { BenchResult, Measurement } from './run.ts';
import { formatThreads } from './threads.ts';
import { formatWebgpu } from './webgpu.ts';

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}

export function formatReport(r: BenchResult): string {
  // The reference per config: the fastest PyTorch run (1 thread or all cores).
  const torch = new Map<string, { ms_per_step: number }>();
  for (const run of r.torch) for (const t of run.results ?? []) if (!torch.has(t.name) || torch.get(t.name)!.ms_per_step > t.ms_per_step) torch.set(t.name, t);
  const baseline = new Map(r.measurements.filter((m) => m.code === 'baseline' && m.ok).map((m) => [`${m.backend}/${m.config}`, m]));
  const rows: string[][] = [['backend', 'config', 'code', 'ms/step', 'tokens/s', 'x PyTorch', 'x before', 'B/param', 'peak MB', 'max RSS MB']];
  const row = (m: Measurement) => {
    if (!m.ok) return [m.backend, m.config, m.code === 'engine' ? 'now' : 'before', 'failed*', '-', '-', '-', '-', '-', '-'];
    const t = torch.get(m.config);
    const b = baseline.get(`${m.backend}/${m.config}`);
    return [
      m.backend,
      m.config,
      m.code === 'engine' ? 'now' : 'before',
      m.msPerStep!.toFixed(1),
      m.tokensPerS!.toFixed(0),
      t ? (t.ms_per_step / m.msPerStep!).toFixed(2) : '-',
      b && m.code === 'engine' ? (b.msPerStep! / m.msPerStep!).toFixed(2) : '-',
      m.bytesPerParam !== undefined ? m.bytesPerParam.toFixed(1) : '-',
      m.peakBytes !== undefined ? (m.peakBytes / 1e6).toFixed(1) : '-',
      m.maxRssMB !== undefined ? m.maxRssMB.toFixed(0) : '-',
    ];
  };
  for (const m of r.measurements) rows.push(row(m));
  for (const run of r.torch.filter((x) => x.ok)) {
    for (const t of run.results ?? [])
      rows.push([
        `pytorch ${run.torch} ${run.device} ${run.threads} thread${run.threads === 1 ? '' : 's'}`,
        t.name,
        'ref',
        t.ms_per_step.toFixed(1),
        t.tokens_per_s.toFixed(0),
        (torch.get(t.name)!.ms_per_step / t.ms_per_step).toFixed(2),
        '-',
        '-',
        '-',
        '-',
      ]);
  }
  const lines = [
    `Scion bench ${r.date} on ${r.machine.cpus} x ${r.machine.model} (load average at start ${r.machine.loadavg.join(', ')})`,
    `configs: ${r.configs.map((c) => `${c.name} (batch ${c.batch}, ctx ${c.ctx})`).join('; ')}; AdamW, no weight decay or clipping`,
    `"x PyTorch" = the fastest PyTorch run's ms/step / ours (above 1: faster than PyTorch); "x before" = speed-up over the code before the speed work (forward of commit 8b5a60f, per-parameter AdamW), steps interleaved; "B/param" = one step's peak tensor bytes (tf.profile: weights, AdamW moments, gradients, activations) per parameter, the fp32 AdamW floor being 16 plus activations`,
    '',
    pad(rows),
  ];
  for (const m of r.measurements.filter((x) => !x.ok)) lines.push(`* ${m.backend} ${m.config} ${m.code === 'engine' ? 'now' : 'before'} failed: ${m.reason}`);
  for (const b of r.backends.filter((x) => !x.ok)) lines.push(`not available: ${b.name}: ${b.reason}`);
  for (const run of r.torch.filter((x) => !x.ok)) lines.push(`PyTorch: not measured: ${run.reason}`);
  if (r.torch.length === 0) lines.push('PyTorch: not run (--no-torch)');
  for (const p of r.profiles) {
    lines.push(
      '',
      `profile of one step: ${p.backend} ${p.config} ${p.code === 'engine' ? 'now' : 'before'}: ${p.profile.kernels} kernels, ${p.profile.kernelMs.toFixed(1)} ms in kernels; BatchMatMul with a transpose flag: ${p.profile.transposedMatMuls} of ${p.profile.matMuls}`,
    );
    lines.push(pad([['kernel', '', '', 'ms', 'calls'], ...p.profile.top.map((o) => [o.kernel, '', '', o.ms.toFixed(1), String(o.calls)])]));
  }
  if (r.threads) lines.push('', formatThreads(r.threads));
  if (r.webgpu) lines.push('', '', formatWebgpu(r.webgpu));
  if (r.growth !== undefined) lines.push('', `growth benchmark: ${JSON.stringify(r.growth)}`);
  return lines.join('\n');
}
