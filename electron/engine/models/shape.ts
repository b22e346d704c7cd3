/**
 * A model's shape numbers, family-neutral: what the app shows and stores (the contract
 * re-exports it). A leaf file (no imports), so the renderer can type it without the engine;
 * `modelShape` in config.ts is the one projection of a config to it.
 */
export interface ModelShape {
  family: 'gpt2' | 'llama';
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ffn: number;
  ctx: number;
  vocab: number;
}
