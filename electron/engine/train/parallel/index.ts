/** CPU data parallelism: training steps and evaluations split over worker threads (see pool.ts). */
export { availableCores, resolveThreads, threadsPerJob, THREADS_ENV } from './threads.ts';
export { ThreadPool, splitEvenly, type PoolOptions } from './pool.ts';
export { parallelTrainStep, windowRows } from './step.ts';
export { evaluateOnThreads } from './evaluate.ts';
export { startThreads, evaluateWith, evaluateThreaded, stepWith } from './start.ts';
