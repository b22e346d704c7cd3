/**
 * A function check as a model entry records it (growthCheckOf in check.ts makes it). A leaf
 * file (no imports): the contract re-exports it, so the renderer can type it without the engine.
 */
export interface GrowthCheck {
  /**
   * exact: within float tolerance; approximate: |lossGrown - lossSource| <= lossBound;
   * changes the function: beyond it (or an exact operator that missed its tolerance).
   */
  verdict: 'exact' | 'approximate' | 'changes the function';
  maxAbsLogitDiff: number;
  lossSource: number;
  lossGrown: number;
  /** The |loss change| bound of 'approximate', nats per token (0.05); absent in checks recorded before it existed. */
  lossBound?: number;
}
