/** Training: the public surface the CLI, the job runner and the benchmark code against. */
export { trainRun, resumeRun, readRunConfig, metricsFile, type RunConfig, type TrainCallbacks, type TrainProgress, type TrainResult } from './run.ts';
export { resolveTrainOptions, effectiveWarmup, type TrainOptions, type ResolvedTrainOptions } from './options.ts';
export { trainStep, accumulatedGradients, toVariables, type StepResult, type Variables } from './step.ts';
export { ensureGradients } from './gradients.ts';
export { AdamW, DEFAULT_ADAMW, decays, type AdamWOptions } from './adamw.ts';
export { clipByGlobalNorm, gradientNorm } from './clip.ts';
export { learningRate, SCHEDULES, type ScheduleKind, type ScheduleOptions } from './schedule.ts';
export { sampleBatch, sampleStarts, batchFromStarts, disposeBatch, type Batch } from './batches.ts';
export { initParams, initArrays } from './init.ts';
export { Rng, subSeed } from './rng.ts';
export { readMetrics, type MetricLine } from './metrics.ts';
export { latestValidCheckpoint, listCheckpoints, verifyCheckpoint, readMoments, writeMoments, type CheckpointState } from './checkpoint.ts';
export { carryMoments, estimateMoments, gradientDivisor, type Moments, type MomentArrays } from './moments.ts';
export { parseDataSpec, loadTokens, spreadWindows } from './data.ts';
