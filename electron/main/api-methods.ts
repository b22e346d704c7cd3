/** The contract's method names as a runtime list: the IPC border refuses any other name. */
import type { ApiMethod } from '../shared/contract.ts';

/** Every method of the contract (kept in step with ScionApi by the `satisfies` below). */
export const API_METHODS = [
  'app.info',
  'project.create',
  'project.open',
  'project.recent',
  'project.state',
  'model.import',
  'model.delete',
  'model.export',
  'model.card',
  'dataset.add',
  'dataset.delete',
  'grow.methods',
  'grow.preview',
  'grow.start',
  'evaluate.start',
  'train.start',
  'train.resume',
  'train.metrics',
  'training.rename',
  'training.delete',
  'job.rename',
  'job.delete',
  'job.cancel',
  'job.list',
  'job.log',
  'experiment.start',
  'experiment.results',
  'sample.start',
] as const satisfies readonly ApiMethod[];
type Missing = Exclude<ApiMethod, (typeof API_METHODS)[number]>;
const everyMethodListed: Missing extends never ? true : Missing = true;
void everyMethodListed;

export function isApiMethod(x: unknown): x is ApiMethod {
  return typeof x === 'string' && (API_METHODS as readonly string[]).includes(x);
}
