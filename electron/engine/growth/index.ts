/** Growth operators: the public surface other parts of Scion code against. */
export { growthMethods, methodSpec } from './methods/index.ts';
export { planGrowth, makePlan, type GrowthPlan, type LayerSource } from './plan.ts';
export { growArrays, growPlanArrays, growTensor, type GrownTensor, type SourceGetter } from './grow.ts';
export { growModelDir, growthJson, type GrowDirOptions, type GrowthReport } from './model-dir.ts';
export {
  checkFunctionPreservation,
  randomWindows,
  windowsFromTokens,
  type CheckWindows,
  type FunctionCheck,
  LOGIT_ABS_TOL,
  LOGIT_REL_TOL,
  LOSS_TOL,
  APPROX_LOSS_BOUND,
  VERDICT_SCALE,
  type CheckVerdict,
  gradeCheck,
  explainVerdict,
  growthCheckOf,
} from './check.ts';
export { WIDTH_METHODS, DEPTH_MODES, GROW_OPTION_KEYS, pickGrowOptions, type GrowOptions, type MethodName, type DepthMode, type Verdict } from './options.ts';
export {
  MASK_FILE,
  type GrowthMasks,
  type MaskSummary,
  tensorMask,
  writeGrowthMask,
  readGrowthMask,
  disposeMasks,
  rampAt,
  rampMultipliers,
  maskedParams,
  effectiveParams,
  disposeMasked,
} from './mask.ts';
