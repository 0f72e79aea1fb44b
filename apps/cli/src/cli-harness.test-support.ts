import { expect } from 'vitest';
import { runCli } from './cli.ts';
import type { Env } from './env.ts';

/** In-process runs of the CLI for tests: what it printed and its exit code. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(env: Env, ...argv: string[]): Promise<CliResult> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runCli(argv, env, {
    stdout: (text) => stdout.push(text),
    stderr: (text) => stderr.push(text),
  });
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}

/** A successful command's output: exactly one JSON document on stdout, nothing on stderr. */
export function output(result: CliResult): unknown {
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

/** A refused command: the given exit code, the message on stderr, nothing on stdout. */
export function expectFailure(result: CliResult, code: 1 | 2, message: RegExp | string): void {
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(message);
  expect(result.code).toBe(code);
}

export const UNKNOWN_ID = '6f1c3a52-9d1e-4c1a-8a55-0d7c1b0e9f00';
