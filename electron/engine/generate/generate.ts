/**
 * Text generation: the prompt's ids, then one token at a time from the model's logits at the
 * last position (sample.ts picks it). No KV cache: each step runs the forward pass over the
 * last `ctx` ids, which for the small models Scion grows is fast enough and is exactly the
 * forward pass the fixtures check. Text is streamed as it becomes valid UTF-8.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ScionError } from '../errors.ts';
import { contextLength } from '../models/config.ts';
import { forward } from '../models/family.ts';
import type { Model } from '../models/model.ts';
import type { TextTokenizer } from '../tokenizer/tokenizer.ts';
import { Rng } from '../rng.ts';
import { checkSampling, sampleToken, type SamplingOptions } from './sample.ts';

export interface GenerateOptions extends SamplingOptions {
  /** New tokens to generate. */
  tokens: number;
  seed: number;
  signal?: AbortSignal;
  /** Called with each piece of text as it is produced (may be '' while a character is incomplete). */
  onText?: (piece: string, tokenId: number) => void;
}

export interface GenerateResult {
  prompt: string;
  promptIds: number[];
  ids: number[];
  /** The generated text (without the prompt). */
  text: string;
  seconds: number;
  tokensPerSecond: number;
}

/** The logits [V] the model gives for the token after `ids` (its last `ctx` ids). */
export async function nextTokenLogits(model: Model, ids: number[]): Promise<Float32Array> {
  const ctx = contextLength(model.config);
  const window = ids.slice(-ctx);
  const logits = tf.tidy(() => {
    const input = tf.tensor2d(Int32Array.from(window), [1, window.length], 'int32');
    const out = forward(model.config, model.params, input).logits; // [1, T, V]
    return tf.reshape(tf.slice(out, [0, window.length - 1, 0], [1, 1, -1]), [-1]); // [V]
  });
  try {
    return (await logits.data()) as Float32Array;
  } finally {
    logits.dispose();
  }
}

/** Decoded text that does not end inside a multi-byte character (a byte tokenizer's half character). */
function stableText(tok: TextTokenizer, ids: number[]): string {
  const text = tok.decode(ids);
  return text.endsWith('\uFFFD') ? text.replace(/\uFFFD+$/, '') : text;
}

export async function generate(model: Model, tok: TextTokenizer, prompt: string, o: GenerateOptions): Promise<GenerateResult> {
  checkSampling(o);
  if (!Number.isInteger(o.tokens) || o.tokens < 1) throw new ScionError(`the number of tokens to generate must be an integer >= 1, got ${o.tokens}`, 'E_USAGE');
  const promptIds = tok.encode(prompt, true);
  if (promptIds.length === 0) throw new ScionError('the prompt is empty: give at least one character to start from', 'E_USAGE');
  const vocab = model.config.vocabSize;
  const bad = promptIds.find((i) => i < 0 || i >= vocab);
  if (bad !== undefined) throw new ScionError(`the prompt has token id ${bad}, outside the model's vocabulary of ${vocab}`, 'E_TOKENIZER');
  const rng = new Rng(o.seed);
  const ids = [...promptIds];
  const out: number[] = [];
  let emitted = '';
  const start = Date.now();
  for (let i = 0; i < o.tokens && !o.signal?.aborted; i++) {
    const next = sampleToken(await nextTokenLogits(model, ids), o, rng);
    ids.push(next);
    out.push(next);
    const text = i === o.tokens - 1 ? tok.decode(out) : stableText(tok, out);
    // a tokenizer that re-spells earlier text streams nothing for it; the result has the full text
    const piece = text.startsWith(emitted) ? text.slice(emitted.length) : '';
    if (piece) emitted = text;
    o.onText?.(piece, next);
  }
  const seconds = (Date.now() - start) / 1000;
  const text = tok.decode(out);
  return { prompt, promptIds, ids: out, text, seconds, tokensPerSecond: seconds > 0 ? out.length / seconds : 0 };
}
