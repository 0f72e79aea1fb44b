import { readFileSync, statSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** Bad command-line input: printed on stderr, exit code 2. */
export class UsageError extends Error {}

export type OptionsSpec = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs(
  argv: string[],
  options: OptionsSpec,
  positionalNames: string[],
  usage: string,
) {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nUsage: ${usage}`);
  }
  if (parsed.positionals.length !== positionalNames.length) {
    const expected = positionalNames.length === 0 ? 'no arguments' : positionalNames.join(' ');
    throw new UsageError(
      `Expected ${expected}, got ${parsed.positionals.length === 0 ? 'none' : parsed.positionals.map((p) => JSON.stringify(p)).join(' ')}\nUsage: ${usage}`,
    );
  }
  const positionals = Object.fromEntries(
    positionalNames.map((name, i) => [name, parsed.positionals[i] as string]),
  );
  // PostgreSQL text cannot hold NUL: refuse it here rather than fail later with a raw database error.
  for (const [name, value] of [
    ...Object.entries(parsed.values).map(([flag, v]) => [`--${flag}`, v] as const),
    ...Object.entries(positionals),
  ]) {
    const texts = Array.isArray(value) ? value : [value];
    if (texts.some((text) => typeof text === 'string' && text.includes('\u0000'))) {
      throw new UsageError(`${name} must not contain NUL characters`);
    }
  }
  return { values: parsed.values as Record<string, string | string[] | boolean | undefined>, positionals };
}

export function requiredFlag(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} is required`);
  return value;
}

export function optionalFlag(values: Record<string, unknown>, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function onOffFlag(values: Record<string, unknown>, name: string): boolean | undefined {
  const value = optionalFlag(values, name);
  if (value === undefined) return undefined;
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new UsageError(`--${name} must be "on" or "off", got ${JSON.stringify(value)}`);
}

export function numberFlag(values: Record<string, unknown>, name: string): number | undefined {
  const value = optionalFlag(values, name);
  if (value === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(value.trim()))
    throw new UsageError(`--${name} must be a number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * A whole number of days; its range is the schema's to check. Digits only, with an optional sign, so a
 * negative value reaches that check and gets its message, and "1e3", "0x10" or "12 days" are refused here.
 */
export function daysFlag(values: Record<string, unknown>, name: string): number | undefined {
  const value = optionalFlag(values, name);
  if (value === undefined) return undefined;
  if (!/^[+-]?\d{1,15}$/.test(value.trim())) {
    throw new UsageError(
      `--${name} must be a whole number of days, got ${JSON.stringify(value.slice(0, 40))}`,
    );
  }
  return Number(value);
}

const MAX_JSON_FILE_BYTES = 1024 * 1024;

export function readJsonFile(path: string, flag: string): unknown {
  let text: string;
  try {
    const stat = statSync(path);
    // A directory, FIFO or device (/dev/zero, /dev/stdin) would fail, block or be read without end.
    if (!stat.isFile()) throw new UsageError(`--${flag}: ${path} is not a regular file`);
    if (stat.size > MAX_JSON_FILE_BYTES) throw new UsageError(`--${flag}: ${path} is larger than 1 MB`);
    text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new UsageError(`--${flag}: cannot read ${path}: ${reason}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--${flag}: ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (holdsNul(value)) {
    throw new UsageError(`--${flag}: ${path} holds a NUL character (\\u0000), which cannot be stored`);
  }
  return value;
}

/** Whether a parsed JSON value has a NUL in any string or key (PostgreSQL's jsonb and text refuse it). */
function holdsNul(root: unknown): boolean {
  // A loop, not recursion: a 1 MB file can nest arrays half a million deep.
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return true;
    } else if (Array.isArray(value)) {
      for (const item of value) pending.push(item);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (key.includes('\u0000')) return true;
        pending.push(item);
      }
    }
  }
  return false;
}
