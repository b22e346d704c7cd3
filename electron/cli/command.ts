/** The shape of one `scion` sub-command, and the helpers they share. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ScionError } from '../engine/errors.ts';

export interface CommandIO {
  /** Machine output (JSON with --json, tables otherwise). */
  stdout: NodeJS.WritableStream;
  /** Logs and progress. */
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[], io: CommandIO): Promise<number>;
}

export type Options = NonNullable<ParseArgsConfig['options']>;

/** A negative number (`-1`, `-0.5`, `-1e-3`), which parseArgs would take for an option. */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/** `--name -1` becomes `--name=-1` for options that take a value, so negative numbers need no `=`. */
function joinNegativeValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a === '--') return [...out, ...argv.slice(i)];
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** parseArgs with Scion's error messages; every command also takes --backend and --json. */
export function parseCommandArgs<O extends Options>(command: string, argv: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args: joinNegativeValues(argv, options), options, allowPositionals, strict: true });
  } catch (e) {
    throw new ScionError(`scion ${command}: ${(e as Error).message}`, 'E_USAGE');
  }
}

export function intOption(command: string, name: string, value: string | undefined, fallback?: number, min = 1, max = Infinity): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  const range = max === Infinity ? `>= ${min}` : `from ${min} to ${max}`;
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max)
    throw new ScionError(`scion ${command}: --${name} must be an integer ${range}, got '${value}'`, 'E_USAGE');
  return n;
}

export function numberOption(command: string, name: string, value: string | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new ScionError(`scion ${command}: --${name} must be a number, got '${value}'`, 'E_USAGE');
  return n;
}

export function requireOption<T>(command: string, name: string, value: T | undefined): T {
  if (value === undefined || value === '') throw new ScionError(`scion ${command}: --${name} is required`, 'E_USAGE');
  return value;
}

export function writeJson(io: CommandIO, value: unknown): void {
  io.stdout.write(JSON.stringify(value) + '\n');
}

export function log(io: CommandIO, line: string): void {
  io.stderr.write(line + '\n');
}

/** Options every engine command accepts. */
export const COMMON_OPTIONS = {
  backend: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies Options;
