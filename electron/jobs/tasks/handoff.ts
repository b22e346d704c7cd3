/** The hand-off job: `writeHandoff` (the folder of `scion handoff`), its lines as the job's log. */
import { writeHandoff } from '../../engine/handoff/write-handoff.ts';
import type { HandoffJobResult, HandoffSpec } from '../messages.ts';
import type { TaskContext } from './context.ts';

export async function runHandoff(spec: HandoffSpec, ctx: TaskContext): Promise<HandoffJobResult> {
  ctx.emit({ type: 'progress', step: 0, total: 1 });
  const { dir, manifest } = await writeHandoff(spec.options, (line) => ctx.log(line));
  ctx.emit({ type: 'progress', step: 1, total: 1 });
  ctx.log(`wrote ${dir}: run it there with ./launch.sh (GPUS=8 ./launch.sh for 8 GPUs; see its README.md)`);
  return {
    kind: 'handoff',
    dir,
    trainTokens: manifest.data.train.tokens,
    valWindows: manifest.data.val_windows?.windows ?? 0,
    files: Object.keys(manifest.files).length,
  };
}
