/** The grow job: `growModelDir` into the job's folder, with the function-preservation check. */
import * as path from 'node:path';
import { type GrowDirOptions, growModelDir, growthCheckOf, growthJson } from '../../engine/growth/index.ts';
import { makeDirs } from '../../engine/io/make-dirs.ts';
import type { GrowResult, GrowSpec } from '../messages.ts';
import type { TaskContext } from './context.ts';

export async function runGrow(spec: GrowSpec, ctx: TaskContext): Promise<GrowResult> {
  await makeDirs(path.dirname(spec.outDir));
  const opts: GrowDirOptions = { ...spec.options, ...(spec.checkDataFile ? { checkData: spec.checkDataFile } : {}), onLog: (line: string) => ctx.log(line) };
  ctx.emit({ type: 'progress', step: 0, total: 1 });
  const report = await growModelDir(spec.sourceDir, spec.outDir, opts);
  ctx.emit({ type: 'progress', step: 1, total: 1 });
  const c = report.check;
  return {
    kind: 'grow',
    backend: ctx.backend,
    report: growthJson(report),
    ...(c ? { check: growthCheckOf(c) } : {}),
  };
}
