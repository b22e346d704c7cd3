/** `scion generate <model-dir> --prompt TEXT`: sample text from a model, streamed token by token to stdout. */
import { initBackend } from '../../engine/backend.ts';
import { generate } from '../../engine/generate/generate.ts';
import { disposeParams, loadModel } from '../../engine/models/model.ts';
import { loadTokenizer } from '../../engine/tokenizer/tokenizer.ts';
import { COMMON_OPTIONS, type Command, intOption, log, numberOption, parseCommandArgs, requireOption, writeJson } from '../command.ts';

export const generateCommand: Command = {
  name: 'generate',
  summary: 'sample text from a model (streamed token by token)',
  usage:
    'scion generate <model-dir> --prompt TEXT [--tokens N (50)] [--temperature T (0.8; 0 = greedy)] [--top-k K (40; 0 = all)] [--seed S (0)] [--backend NAME] [--json]',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('generate', argv, {
      ...COMMON_OPTIONS,
      prompt: { type: 'string' },
      tokens: { type: 'string' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      seed: { type: 'string' },
    });
    const dir = requireOption('generate', '<model-dir>', positionals[0]);
    const prompt = requireOption('generate', 'prompt', values.prompt);
    const tokens = intOption('generate', 'tokens', values.tokens, 50)!;
    const temperature = numberOption('generate', 'temperature', values.temperature, 0.8)!;
    const topK = intOption('generate', 'top-k', values['top-k'], 40, 0)!;
    const seed = intOption('generate', 'seed', values.seed, 0, 0)!;
    const backend = await initBackend(values.backend);
    log(io, `backend: ${backend.name}`);
    const model = await loadModel(dir);
    try {
      const tok = await loadTokenizer(dir);
      if (!values.json) io.stdout.write(prompt);
      const r = await generate(model, tok, prompt, {
        tokens,
        temperature,
        topK,
        seed,
        ...(values.json ? {} : { onText: (piece: string) => void io.stdout.write(piece) }),
      });
      if (values.json)
        writeJson(io, {
          model: dir,
          prompt,
          text: r.text,
          prompt_tokens: r.promptIds.length,
          token_ids: r.ids,
          tokens: r.ids.length,
          temperature,
          top_k: topK,
          seed,
          tokenizer: tok.kind,
          backend: backend.name,
          seconds: r.seconds,
          tokens_per_second: r.tokensPerSecond,
        });
      else {
        io.stdout.write('\n');
        log(
          io,
          `${r.ids.length} tokens in ${r.seconds.toFixed(2)} s (${r.tokensPerSecond.toFixed(1)} tokens/s), temperature ${temperature}, top-k ${topK}, seed ${seed}`,
        );
      }
      return 0;
    } finally {
      disposeParams(model.params);
    }
  },
};
