/**
 * `scion tokenizer train --data <file> [--data <file> ...] --vocab-size N --out <dir>`: train a
 * byte-level BPE tokenizer (GPT-2 style) on text files and write a Hugging Face tokenizer folder.
 */
import { ScionError } from '../../engine/errors.ts';
import { DEFAULT_SPECIAL_TOKENS, trainTokenizer } from '../../engine/tokenizer/train-tokenizer.ts';
import { COMMON_OPTIONS, type Command, intOption, log, parseCommandArgs, requireOption, writeJson } from '../command.ts';

export const tokenizerCommand: Command = {
  name: 'tokenizer',
  summary: 'train a byte-level BPE tokenizer (tokenizer.json) on text files',
  usage: [
    'scion tokenizer train --data <file[#FROM-TO]> [more files] --vocab-size N --out <dir> [--special a,b] [--min-frequency K] [--max-length T] [--force] [--json]',
    '',
    'GPT-2 style byte-level BPE: GPT-2 pre-tokenization regex, the 256 bytes as the base alphabet (any UTF-8 text',
    'encodes and decodes back exactly), merges learned by pair frequency (ties: the smallest pair of ids).',
    'Writes tokenizer.json (Hugging Face tokenizers format), tokenizer_config.json and tokenizer-train.json.',
    `--special:       special tokens, ids 0.. (default ${DEFAULT_SPECIAL_TOKENS.join(',')}); the first is BOS/EOS/UNK in tokenizer_config.json`,
    "--data F#A-B:    train on the fraction A-B of the file's bytes (e.g. corpus.txt#0-0.9: leave the validation split out)",
    '--min-frequency: stop early when the best pair occurs fewer than K times (default 2)',
    '--force:         replace an existing --out only when Scion wrote it',
  ].join('\n'),
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub !== 'train') throw new ScionError(`scion tokenizer: unknown sub-command '${sub ?? ''}' (only 'train')`, 'E_USAGE');
    const { values, positionals } = parseCommandArgs('tokenizer train', rest, {
      ...COMMON_OPTIONS,
      data: { type: 'string', multiple: true },
      'vocab-size': { type: 'string' },
      out: { type: 'string' },
      special: { type: 'string' },
      'min-frequency': { type: 'string' },
      'max-length': { type: 'string' },
      force: { type: 'boolean', default: false },
    });
    const data = [...(values.data ?? []), ...positionals];
    if (data.length === 0) requireOption('tokenizer train', 'data', undefined);
    const minFrequency = intOption('tokenizer train', 'min-frequency', values['min-frequency']);
    const maxLength = intOption('tokenizer train', 'max-length', values['max-length']);
    const r = await trainTokenizer({
      data,
      vocabSize: intOption('tokenizer train', 'vocab-size', requireOption('tokenizer train', 'vocab-size', values['vocab-size']))!,
      out: requireOption('tokenizer train', 'out', values.out),
      ...(values.special !== undefined ? { specialTokens: values.special.split(',') } : {}),
      ...(minFrequency !== undefined ? { minFrequency } : {}),
      ...(maxLength !== undefined ? { modelMaxLength: maxLength } : {}),
      force: values.force,
      onLog: (l) => log(io, l),
    });
    if (values.json) writeJson(io, { out: r.out, fingerprint: r.fingerprint, ...r.record });
    else
      io.stdout.write(
        `${r.out}: ${r.vocabSize} tokens (${r.merges} merges), ${r.tokensPerByte.toFixed(4)} tokens per byte on ${r.bytes} bytes; ${r.seconds.total.toFixed(1)} s\n`,
      );
    return 0;
  },
};
