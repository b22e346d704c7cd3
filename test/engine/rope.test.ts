/** RoPE frequencies: the default and Llama 3's scaling, against values worked out by hand. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHFConfig } from '../../electron/engine/models/config.ts';
import { ropeInvFreq } from '../../electron/engine/models/llama.ts';

test('default inverse frequencies are 1 / theta^(2j/hd)', () => {
  const inv = ropeInvFreq(8, 10000);
  [1, 0.1, 0.01, 0.001].forEach((want, j) => assert.equal(inv[j], Math.fround(want), `j=${j}`)); // float32, as torch computes them
});

test('llama3 scaling keeps short wavelengths, divides long ones and interpolates between', () => {
  const scaling = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 32 } as const;
  // hd 8, theta 1e4: inv 1, 0.1, 0.01, 0.001; wavelengths 6.28, 62.8, 628, 6283; band [32/4, 32/1] = [8, 32]
  const inv = ropeInvFreq(8, 10000, scaling);
  assert.ok(Math.abs(inv[0]! - 1) < 1e-7, 'short wavelength kept');
  assert.ok(Math.abs(inv[2]! - 0.01 / 8) < 1e-9, 'long wavelength divided by the factor');
  // a wavelength inside the band: hd 2 with theta chosen so inv = 2*pi/16 (wavelength 16)
  const mid = ropeInvFreq(2, 1, scaling); // inv 1: wavelength 6.28 < 8, kept
  assert.ok(Math.abs(mid[0]! - 1) < 1e-7);
  const inBand = ropeInvFreq(4, (16 / (2 * Math.PI)) ** 2, scaling)[1]!; // j=1: inv = 2*pi/16
  const smooth = (32 / 16 - 1) / (4 - 1);
  const want = (1 - smooth) * ((2 * Math.PI) / 16 / 8) + smooth * ((2 * Math.PI) / 16);
  assert.ok(Math.abs(inBand - want) < 1e-6, `${inBand} vs ${want}`);
});

test('rope_parameters and rope_scaling spellings both parse; other types are refused', () => {
  const base = { architectures: ['LlamaForCausalLM'], vocab_size: 16, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2 };
  const p = { rope_type: 'llama3', rope_theta: 500000, factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
  const a = parseHFConfig({ ...base, rope_parameters: p });
  const b = parseHFConfig({ ...base, rope_theta: 500000, rope_scaling: { ...p, rope_theta: undefined } });
  assert.deepEqual(a, b);
  assert.ok(a.family === 'llama' && a.ropeTheta === 500000 && a.ropeScaling?.factor === 32);
  assert.throws(() => parseHFConfig({ ...base, rope_scaling: { rope_type: 'yarn', factor: 4 } }), /rope_scaling\.rope_type = "yarn" is not supported/);
});
