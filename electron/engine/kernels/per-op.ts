/**
 * The switch for the per-op savings of issue 11 (kernels/shared-copies.ts and the fused
 * custom-gradient ops of models/layers.ts and models/llama.ts): on unless SCION_PEROP=0,
 * which the bench uses to time the step as it was before them in the same run.
 */
export function perOpOn(): boolean {
  return process.env['SCION_PEROP'] !== '0';
}
