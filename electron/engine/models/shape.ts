/**
 * A model's shape numbers, family-neutral: what the app shows and stores (the contract
 * re-exports it). A leaf file (no imports), so the renderer can type it without the engine;
 * `modelShape` in config.ts is the one projection of a config to it.
 */
/** Every family Scion reads, by its config.json `model_type` (the store's schema and the app list them). */
export const FAMILY_IDS = ['gpt2', 'llama', 'qwen2', 'qwen3', 'mistral', 'gpt_neox', 'opt', 'phi3', 'gemma', 'gemma3_text', 'olmo', 'olmo2'] as const;

export interface ModelShape {
  family: (typeof FAMILY_IDS)[number];
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ffn: number;
  ctx: number;
  vocab: number;
}
