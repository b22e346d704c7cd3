/** `scion eval <model-dir> --data <file>`: loss, perplexity and top-1 accuracy on a dataset. */
import { initBackend } from '../../engine/backend.ts';
import { evalMetricsOf, requireEvalFits } from '../../engine/eval/evaluate.ts';
import { disposeParams, loadModel, readModelConfig } from '../../engine/models/model.ts';
import { loadTokenizer } from '../../engine/tokenizer/tokenizer.ts';
import { loadTokens } from '../../engine/train/data.ts';
import { evaluateThreaded } from '../../engine/train/parallel/start.ts';
import { recordEvaluation } from '../../store/record.ts';
import { COMMON_OPTIONS, type Command, intOption, log, parseCommandArgs, requireOption, writeJson } from '../command.ts';
import { ProgressBar } from '../progress.ts';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate a model on a dataset: loss, perplexity, next-token accuracy',
  usage: 'scion eval <model-dir> --data <file> [--ctx N] [--batch N] [--max-windows N] [--threads N] [--project DIR] [--backend NAME] [--json]',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('eval', argv, {
      ...COMMON_OPTIONS,
      data: { type: 'string' },
      ctx: { type: 'string' },
      batch: { type: 'string' },
      'max-windows': { type: 'string' },
      threads: { type: 'string' },
      project: { type: 'string' },
    });
    const dir = requireOption('eval', '<model-dir>', positionals[0]);
    const data = requireOption('eval', 'data', values.data);
    const ctx = intOption('eval', 'ctx', values.ctx, undefined, 2);
    const batch = intOption('eval', 'batch', values.batch);
    const maxWindows = intOption('eval', 'max-windows', values['max-windows']);
    const threads = intOption('eval', 'threads', values.threads);
    const backend = await initBackend(values.backend);
    log(io, `backend: ${backend.name}`);
    requireEvalFits((await readModelConfig(dir)).config, { ...(ctx !== undefined ? { ctx } : {}), ...(batch !== undefined ? { batch } : {}) }, dir);
    const model = await loadModel(dir);
    try {
      const tok = await loadTokenizer(dir);
      const ids = await loadTokens(data, tok, model.config.vocabSize);
      log(io, `${data}: ${ids.length} tokens`);
      let progress: ProgressBar | undefined;
      const r = await evaluateThreaded(model, ids, {
        dataName: data,
        ...(threads !== undefined ? { threads } : {}),
        ...(ctx !== undefined ? { ctx } : {}),
        ...(batch !== undefined ? { batch } : {}),
        ...(maxWindows !== undefined ? { maxWindows } : {}),
        onProgress: (done, total) => {
          progress ??= new ProgressBar(io, total, 'eval');
          progress.update(done, 'windows');
        },
      });
      progress?.done();
      const result = {
        model: dir,
        data,
        loss: r.loss,
        loss_std_err: r.lossStdErr ?? null,
        perplexity: r.perplexity,
        accuracy: r.accuracy,
        tokens: r.tokens,
        windows: r.windows,
        ctx: r.ctx,
        backend: backend.name,
        seconds: r.seconds,
      };
      if (values.project) {
        const e = await recordEvaluation(values.project, {
          modelDir: dir,
          dataFile: data,
          metrics: evalMetricsOf(r),
          backend: backend.name,
        });
        log(io, `recorded in project ${values.project} as evaluation ${e.id}`);
      }
      if (values.json) writeJson(io, result);
      else {
        io.stdout.write(
          [
            `loss        ${r.loss.toFixed(4)}${r.lossStdErr !== undefined ? ` ± ${r.lossStdErr.toFixed(4)} (standard error over ${r.windows} windows)` : ''}`,
            `perplexity  ${r.perplexity.toFixed(3)}`,
            `accuracy    ${(100 * r.accuracy).toFixed(2)}% (next token predicted exactly)`,
            `predictions ${r.tokens} in ${r.windows} windows of ${r.ctx}`,
            `backend     ${backend.name}`,
            `time        ${r.seconds.toFixed(2)} s`,
          ].join('\n') + '\n',
        );
      }
      return 0;
    } finally {
      disposeParams(model.params);
    }
  },
};
