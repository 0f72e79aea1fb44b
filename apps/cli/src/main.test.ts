import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateSecretKey } from '@provisioning/db';
import { createTestDatabase, type TestDatabase } from '@provisioning/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI_DIR = fileURLToPath(new URL('..', import.meta.url));

interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/provisioning.js ...` as `pnpm provisioning` does, with only the given environment. */
function provisioning(env: Record<string, string>, ...args: string[]): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/provisioning.js', ...args], {
      cwd: CLI_DIR,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // A process that does not exit on its own (a handle left open) fails the test instead of hanging it.
      timeout: 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('the provisioning binary', () => {
  let database: TestDatabase;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase('cli_main');
    env = { DATABASE_URL: database.url, PROVISIONING_SECRET_KEY: generateSecretKey() };
    const migrated = await provisioning(env, 'migrate');
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('prints exactly one JSON document with the new organisation’s id and exits 0', async () => {
    const result = await provisioning(env, 'org', 'create', '--name', 'Acme', '--timezone', 'Europe/London');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
    });
  });

  it('exits 2 on bad input with the message on stderr and nothing on stdout', async () => {
    const result = await provisioning(env, 'org', 'create', '--timezone', 'Europe/London');
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toBe('Error: --name is required\n');
  });

  it('exits 2 with "Invalid environment" when DATABASE_URL is not a postgres URL', async () => {
    const result = await provisioning({ ...env, DATABASE_URL: 'mysql://root@127.0.0.1/app' }, 'migrate');
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toMatch(
      /^Invalid environment:\n {2}DATABASE_URL: DATABASE_URL must be a postgres:\/\/ URL/,
    );
  });

  it('exits 1 with "Could not connect to the database" when the server is unreachable', async () => {
    const result = await provisioning(
      { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x' },
      'runs',
      'list',
      '--org',
      '6f1c3a52-9d1e-4c1a-8a55-0d7c1b0e9f00',
    );
    expect(result).toMatchObject({ code: 1, signal: null, stdout: '' });
    expect(result.stderr).toMatch(/^Error: Could not connect to the database at 127\.0\.0\.1:1\/x: /);
  });
});
