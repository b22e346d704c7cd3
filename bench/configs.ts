/** The fixed benchmark configs of issues 4 and 7: vocab 256, d 128, 4 layers, 4 heads, ctx 64, batch 8. */
import { type ModelConfig, PRESETS } from '../electron/engine/models/config.ts';

export interface BenchConfig {
  name: string;
  model: ModelConfig;
  batch: number;
  ctx: number;
  lr: number;
}

export const BENCH_CONFIGS: BenchConfig[] = [
  { name: 'gpt2-d128-l4', model: PRESETS['gpt2-tiny']!, batch: 8, ctx: 64, lr: 1e-3 },
  { name: 'llama-d128-l4', model: PRESETS['llama-tiny']!, batch: 8, ctx: 64, lr: 1e-3 },
];

/** Larger configs for a GPU (`--configs`), as in docs/measurements.md. */
export const GPU_CONFIGS: BenchConfig[] = [
  {
    name: 'gpt2-d512-l8',
    model: { family: 'gpt2', vocabSize: 512, nPositions: 256, nEmbd: 512, nLayer: 8, nHead: 8, nInner: 2048, layerNormEpsilon: 1e-5, activation: 'gelu_new' },
    batch: 16,
    ctx: 256,
    lr: 1e-3,
  },
];

export const ALL_CONFIGS: BenchConfig[] = [...BENCH_CONFIGS, ...GPU_CONFIGS];
