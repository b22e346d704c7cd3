/** The contract's method names as a runtime list: the IPC border refuses any other name. */
import { apiParamSchemas } from '../service/api-schemas.ts';
import type { ApiMethod } from '../shared/contract.ts';

/**
 * Every method of the contract: the keys of the service's payload schema table, which
 * `satisfies Record<ApiMethod, ...>` keeps equal to ScionApi's methods (none missing, none extra).
 */
export const API_METHODS = Object.keys(apiParamSchemas) as ApiMethod[];

export function isApiMethod(x: unknown): x is ApiMethod {
  return typeof x === 'string' && Object.hasOwn(apiParamSchemas, x);
}
