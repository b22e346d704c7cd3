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

/** What a system error code means, in words. */
const SYSTEM_PROBLEMS: Record<string, string> = {
  ENOENT: 'not found',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'is a folder, not a file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exceeded',
  EROFS: 'the file system is read-only',
  EEXIST: 'already exists',
  ENOTEMPTY: 'the folder is not empty',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
  EIO: 'an input/output error (a failing disk or a removed drive?)',
  EBUSY: 'busy (in use by another program)',
  ELOOP: 'too many symbolic links',
  EADDRINUSE: 'the address is already in use (another program, or another scion serve?)',
};

/** The problem a system error (ENOENT, ENOSPC, ...) describes, in words; undefined for other errors. */
export function systemProblem(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return undefined;
  return SYSTEM_PROBLEMS[code] ?? `${code.toLowerCase()} (${(e as Error).message})`;
}

/** A ScionError for a failed write of `target` (which may be a folder being built). */
export function writeError(target: string, e: unknown): ScionError {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === 'ENOENT' ? 'its folder does not exist' : (systemProblem(e) ?? errorMessage(e));
  return new ScionError(`cannot write ${target}: ${why}`, 'E_WRITE', target);
}

/**
 * One readable line for anything thrown: a ScionError as is; a system error as "PATH: problem"
 * (its path, else `file` when the caller knows it); a failed allocation as a memory problem.
 */
export function userMessage(e: unknown, file?: string): string {
  if (e instanceof ScionError) return e.message;
  const problem = systemProblem(e);
  if (problem !== undefined) {
    const where = (e as NodeJS.ErrnoException).path ?? (e as { dest?: string }).dest ?? file;
    const syscall = (e as NodeJS.ErrnoException).syscall;
    return where !== undefined ? `${where}: ${problem}` : `${problem}${syscall ? ` (during ${syscall})` : ''}`;
  }
  const msg = errorMessage(e);
  const size = /Invalid typed array length: (\d+)|Array buffer allocation failed/.exec(msg);
  if (e instanceof RangeError && size) {
    return size[1] !== undefined
      ? `out of memory: an array of ${Number(size[1]).toLocaleString('en-US')} values is more than this process can allocate (is a size in the config or options far too large?)`
      : 'out of memory: an allocation failed (try a smaller model, --batch or --ctx)';
  }
  if (/memory access out of bounds|Out of memory|Cannot enlarge memory/i.test(msg))
    return `out of memory in the tensor backend (${msg}): try a smaller --batch or --ctx, or a backend with more memory`;
  return msg;
}
