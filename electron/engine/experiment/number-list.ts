/** Comma lists of numbers on the command line (`--tune-lr 1e-3,3e-3`, `--source-ages 250,500`). */
import { ScionError } from '../errors.ts';

/**
 * Parses `list` into distinct numbers that each pass `ok`; refuses an empty list or a bad entry
 * with `--<flag> takes <what>, got '<list>'`, and a repeated one naming `--<flag>`.
 */
export function parseNumberList(list: string, flag: string, ok: (x: number) => boolean, what: string): number[] {
  const xs = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (xs.length === 0 || xs.some((x) => !ok(x))) throw new ScionError(`--${flag} takes ${what}, got '${list}'`, 'E_USAGE');
  if (new Set(xs).size !== xs.length) throw new ScionError(`--${flag}: a value is listed twice in '${list}'`, 'E_USAGE');
  return xs;
}
