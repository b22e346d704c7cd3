/**
 * A trained byte-level BPE as the files a Hugging Face model folder holds: `tokenizer.json` in
 * the `tokenizers` serialization (BPE model, ByteLevel pre-tokenizer and decoder, the special
 * tokens as added tokens: the layout of GPT-2's own tokenizer.json) and a `tokenizer_config.json`
 * naming the special tokens, so transformers' AutoTokenizer and Scion's loader both read it.
 */
import type { BpeModel } from './bpe-train.ts';

const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };

export function tokenizerJson(m: BpeModel): Record<string, unknown> {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: m.specialTokens.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: BYTE_LEVEL,
    post_processor: null,
    // as tokenizers' decoders.ByteLevel() writes itself (the decoder ignores the prefix flag)
    decoder: { ...BYTE_LEVEL, add_prefix_space: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(m.vocab.map((t, i) => [t, i])),
      merges: m.merges,
    },
  };
}

/** tokenizer_config.json: the first special token is BOS, EOS and UNK (GPT-2's <|endoftext|> convention). */
export function tokenizerConfigJson(m: BpeModel, modelMaxLength: number): Record<string, unknown> {
  const first = m.specialTokens[0];
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: modelMaxLength,
    add_prefix_space: false,
    ...(first !== undefined ? { bos_token: first, eos_token: first, unk_token: first } : {}),
    ...(m.specialTokens.length > 1 ? { additional_special_tokens: m.specialTokens.slice(1) } : {}),
    clean_up_tokenization_spaces: false,
  };
}
