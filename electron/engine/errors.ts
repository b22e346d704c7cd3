/**
 * One error type for everything the engine refuses: bad files, unsupported configs,
 * impossible shapes. The message always names the file or field and the problem, so the
 * CLI and the app can show it as is.
 */
export class ScionError extends Error {
  override readonly name = 'ScionError';
  constructor(
    message: string,
    /** A stable machine-readable code, e.g. 'E_SAFETENSORS', 'E_CONFIG'. */
    readonly code: string = 'E_SCION',
    /** The file the problem is in, when there is one. */
    readonly file?: string,
  ) {
    super(message);
  }
}

export function isScionError(e: unknown): e is ScionError {
  return e instanceof ScionError;
}

/** Throws a ScionError with `code` when `cond` is false. */
export function check(cond: unknown, message: string, code = 'E_SCION', file?: string): asserts cond {
  if (!cond) throw new ScionError(message, code, file);
}

/** A readable one-line message for any thrown value. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
