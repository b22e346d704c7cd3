/**
 * Every request the UI makes settles: an answer, an error, or after a while a timeout error
 * (so a button never waits forever on an engine that does not answer). Requests that copy
 * model or dataset files may take minutes; the rest answer in well under a second.
 */
import type { ApiMethod } from '../../../electron/shared/contract.ts';
import { ApiError } from './api-error.ts';

const COPYING: ReadonlySet<ApiMethod> = new Set<ApiMethod>(['model.import', 'model.export', 'dataset.add']);
export const REQUEST_TIMEOUT_MS = 60_000;
export const COPY_TIMEOUT_MS = 30 * 60_000;

export function timeoutFor(method: ApiMethod): number {
  return COPYING.has(method) ? COPY_TIMEOUT_MS : REQUEST_TIMEOUT_MS;
}

/** `request`, or an ApiError (code E_TIMEOUT) when it has not settled within `ms`. */
export function withTimeout<T>(method: ApiMethod, request: Promise<T>, ms = timeoutFor(method)): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ApiError(
            `The Scion engine did not answer '${method}' within ${Math.round(ms / 1000)} s; it may still be working. Check the folder and try again.`,
            'E_TIMEOUT',
          ),
        ),
      ms,
    );
  });
  return Promise.race([request, timeout]).finally(() => clearTimeout(timer));
}
