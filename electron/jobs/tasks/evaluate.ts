/** The evaluate job: every (model, dataset) pair asked for, each model loaded once. */
import { loadTokens } from '../../engine/train/data.ts';
import { evalMetricsOf } from '../../engine/eval/evaluate.ts';
import { evaluateThreaded } from '../../engine/train/parallel/start.ts';
import { disposeParams, loadModel } from '../../engine/models/model.ts';
import { loadTokenizer } from '../../engine/tokenizer/tokenizer.ts';
import type { EvaluateResult, EvaluateSpec } from '../messages.ts';
import type { TaskContext } from './context.ts';

export async function runEvaluate(spec: EvaluateSpec, ctx: TaskContext): Promise<EvaluateResult> {
  const result: EvaluateResult = { kind: 'evaluate', backend: ctx.backend, evaluations: [] };
  const byModel = new Map<string, EvaluateSpec['pairs']>();
  for (const p of spec.pairs) byModel.set(p.modelDir, [...(byModel.get(p.modelDir) ?? []), p]);
  let done = 0;
  for (const [modelDir, pairs] of byModel) {
    if (ctx.signal.aborted) break;
    const model = await loadModel(modelDir);
    try {
      const tok = await loadTokenizer(modelDir);
      for (const p of pairs) {
        if (ctx.signal.aborted) break;
        const ids = await loadTokens(p.dataFile, tok, model.config.vocabSize);
        const r = await evaluateThreaded(model, ids, {
          ...(spec.maxWindows !== undefined ? { maxWindows: spec.maxWindows } : {}),
          onProgress: (w, total) => ctx.emit({ type: 'progress', step: done + w / total, total: spec.pairs.length }),
        });
        done++;
        const metrics = evalMetricsOf(r);
        result.evaluations.push({ modelId: p.modelId, datasetId: p.datasetId, metrics, fingerprint: tok.fingerprint, datasetTokens: ids.length });
        ctx.log(`${p.modelId} on ${p.datasetId}: loss ${r.loss.toFixed(4)}, perplexity ${r.perplexity.toFixed(3)}, accuracy ${(100 * r.accuracy).toFixed(2)}%`);
        ctx.emit({ type: 'progress', step: done, total: spec.pairs.length });
      }
    } finally {
      disposeParams(model.params);
    }
  }
  return result;
}
