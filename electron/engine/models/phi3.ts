/**
 * Phi-3 (`Phi3ForCausalLM`), as transformers computes it: Llama's decoder (llama.ts: RMSNorm,
 * RoPE, grouped KV heads, SwiGLU, no biases) with q, k and v stored fused in one `qkv_proj`
 * ([q heads | k heads | v heads] on the output axis) and gate and up fused in `gate_up_proj`
 * (gate rows first), RoPE on the first `partial_rotary_factor` x head_dim dims of each head,
 * Mistral's sliding window when `sliding_window` is set (null: full attention), and an untied
 * head by default. Scaled RoPE (`rope_scaling` longrope / su, Phi-3-*-128k) is refused.
 * Reference: transformers `modeling_phi3.py`, `configuration_phi3.py`.
 */
import type { LlamaConfig } from './config.ts';
import { type Json, bad, int, requireValue } from './config-fields.ts';
import { type FamilyConfigSpec, decoderHF, parseDecoder } from './decoder-config.ts';

/** Refuses any RoPE but the default: rope_scaling must be null (rope_parameters' rope_type 'default'). */
function requireDefaultRope(raw: Json, file: string): void {
  const legacy = raw['rope_scaling'];
  if (legacy !== undefined && legacy !== null) bad(file, 'rope_scaling', legacy, 'only rope_scaling null is implemented (longrope / su scaling is not)');
  const params = raw['rope_parameters'] as Json | undefined | null;
  const type = params?.['rope_type'] ?? 'default';
  if (type !== 'default') bad(file, 'rope_parameters.rope_type', type, 'only the default RoPE is implemented (longrope / su scaling is not)');
}

/** partial_rotary_factor (or rope_parameters.partial_rotary_factor, transformers 5), default 1. */
function partialRotaryFactor(raw: Json, file: string): number {
  const params = raw['rope_parameters'] as Json | undefined | null;
  const v = raw['partial_rotary_factor'] ?? params?.['partial_rotary_factor'] ?? 1;
  if (typeof v !== 'number' || !(v > 0) || v > 1) bad(file, 'partial_rotary_factor', v, 'expected a number in (0, 1]');
  return v;
}

export const phi3Family: FamilyConfigSpec<LlamaConfig> = {
  family: 'phi3',
  name: 'Phi-3',
  architecture: 'Phi3ForCausalLM',
  modelType: 'phi3',
  parse(raw, file) {
    requireValue(raw, file, 'attention_bias', [false], 'Phi-3 has no attention biases');
    requireValue(raw, file, 'mlp_bias', [false], 'Phi-3 has no MLP biases');
    requireDefaultRope(raw, file);
    const factor = partialRotaryFactor(raw, file);
    const cfg = parseDecoder(raw, file, 'phi3', { rmsNormEps: 1e-5, maxPositionEmbeddings: 4096 });
    const rotaryDims = Math.floor(cfg.headDim * factor);
    if (rotaryDims % 2 !== 0 || rotaryDims === 0)
      bad(file, 'partial_rotary_factor', factor, `head_dim ${cfg.headDim} x partial_rotary_factor gives ${rotaryDims} rotary dims, not a positive even number`);
    const window = raw['sliding_window'] === null || raw['sliding_window'] === undefined ? undefined : int(raw, file, 'sliding_window');
    return {
      ...cfg,
      fusedProjections: true,
      ...(rotaryDims < cfg.headDim ? { rotaryDims } : {}),
      ...(window === undefined ? {} : { slidingWindow: window }),
    };
  },
  toHF(cfg, base) {
    const out = decoderHF(cfg, base, 'Phi3ForCausalLM', 'phi3');
    const factor = (cfg.rotaryDims ?? cfg.headDim) / cfg.headDim;
    const given = base['partial_rotary_factor'];
    // the factor as config.json gave it when it gives these dims (0.75 of 24 is 18 either way)
    const partial = typeof given === 'number' && Math.floor(cfg.headDim * given) === (cfg.rotaryDims ?? cfg.headDim) ? given : factor;
    const rope = out['rope_parameters'] as Json | undefined;
    if (rope) out['rope_parameters'] = { ...rope, partial_rotary_factor: partial };
    return { ...out, partial_rotary_factor: partial, sliding_window: cfg.slidingWindow ?? null };
  },
};
