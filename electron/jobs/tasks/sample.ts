/** The sample job: the same prompt, seed and settings on each model in turn, text streamed as it comes. */
import { generate } from '../../engine/generate/generate.ts';
import { disposeParams, loadModel } from '../../engine/models/model.ts';
import { loadTokenizer } from '../../engine/tokenizer/tokenizer.ts';
import type { SampleResult, SampleSpec } from '../messages.ts';
import type { TaskContext } from './context.ts';

export async function runSample(spec: SampleSpec, ctx: TaskContext): Promise<SampleResult> {
  const result: SampleResult = { kind: 'sample', backend: ctx.backend, samples: [], stopped: false };
  for (const [i, m] of spec.models.entries()) {
    if (ctx.signal.aborted) break;
    const model = await loadModel(m.modelDir);
    try {
      const tok = await loadTokenizer(m.modelDir);
      const r = await generate(model, tok, spec.prompt, {
        tokens: spec.tokens,
        temperature: spec.temperature,
        topK: spec.topK,
        seed: spec.seed,
        signal: ctx.signal,
        onText: (piece) => {
          if (piece) ctx.emit({ type: 'text', modelId: m.modelId, piece });
        },
      });
      result.samples.push({ modelId: m.modelId, text: r.text, tokens: r.ids.length, seconds: r.seconds });
      ctx.log(`${m.modelId}: ${r.ids.length} tokens in ${r.seconds.toFixed(2)} s: ${JSON.stringify(r.text)}`);
      ctx.emit({ type: 'progress', step: i + 1, total: spec.models.length });
    } finally {
      disposeParams(model.params);
    }
  }
  result.stopped = ctx.signal.aborted;
  return result;
}
