import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOrm, generateSecretKey, type Orm, parseSecretKey } from '@provisioning/db';
import { createTestDatabase, type TestDatabase } from '@provisioning/db/testing';
import { parseAllowList, runSync } from '@provisioning/sync';
import { type SftpServer, startSftpServer } from '@provisioning/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, expectFailure, output, UNKNOWN_ID } from './cli-harness.test-support.ts';
import { type Env, parseEnv } from './env.ts';

const SFTP_USER = 'acme-sync';
const SFTP_PASSWORD = 'sftp-Secret-Pa55word';

let database: TestDatabase;
let orm: Orm;
let env: Env;
let secretKey: string;
let root: string;
let sftp: SftpServer;
let org: string;

beforeAll(async () => {
  database = await createTestDatabase('cli_config_pause');
  secretKey = generateSecretKey();
  env = parseEnv({
    DATABASE_URL: database.url,
    PROVISIONING_SECRET_KEY: secretKey,
    CONNECTOR_ALLOWED_HOSTS: '127.0.0.1/32',
  });
  output(await cli(env, 'migrate'));
  orm = await createOrm({ databaseUrl: database.url, poolSize: 4 });
  root = mkdtempSync(join(tmpdir(), 'provisioning-config-pause-test-'));
  const served = join(root, 'sftp');
  mkdirSync(served);
  sftp = await startSftpServer({ root: served, username: SFTP_USER, password: SFTP_PASSWORD });
  org = (output(await cli(env, 'org', 'create', '--name', 'Acme')) as { id: string }).id;
});

afterAll(async () => {
  await sftp?.stop();
  await orm?.close(true);
  await database?.drop();
  if (root) rmSync(root, { recursive: true, force: true });
});

let configCount = 0;
/** SFTP settings whose file is never there: each run ends Data Load Failed. */
function failingSettings(): string {
  const settings = join(root, `settings-${++configCount}.json`);
  writeFileSync(
    settings,
    JSON.stringify({
      host: '127.0.0.1',
      port: sftp.port,
      username: SFTP_USER,
      password: SFTP_PASSWORD,
      hostFingerprint: sftp.hostFingerprint,
      path: '/missing.csv',
    }),
  );
  return settings;
}

/** A scheduled configuration of those settings. */
async function createFailingConfig(...flags: string[]): Promise<string> {
  const settings = failingSettings();
  const created = output(
    await cli(
      env,
      'config',
      'create',
      '--org',
      org,
      '--name',
      `HR feed ${configCount}`,
      '--connector',
      'sftp',
      '--settings',
      settings,
      '--schedule',
      '0 2 * * *',
      ...flags,
    ),
  ) as { id: string };
  return created.id;
}

/** A manual run queued by the CLI and run here as the worker would. */
async function runOnce(configId: string): Promise<string> {
  const queued = output(await cli(env, 'sync', 'run', configId)) as { id: string; status: string };
  expect(queued.status).toBe('queued');
  const result = await runSync(queued.id, {
    orm,
    secretKey: parseSecretKey(secretKey),
    allowList: parseAllowList('127.0.0.1/32'),
  });
  return 'status' in result ? result.status : 'unknown';
}

interface Shown {
  id: string;
  consecutiveFailures: number;
  alertAfterFailures: number;
  pauseAfterFailures: number;
  failing: boolean;
  paused: boolean;
  pausedAt: string | null;
  pausedReason: string | null;
}

async function show(id: string): Promise<Shown> {
  return output(await cli(env, 'config', 'show', id)) as Shown;
}

async function listed(id: string): Promise<Shown | undefined> {
  const list = output(await cli(env, 'config', 'list', '--org', org)) as Shown[];
  return list.find((configuration) => configuration.id === id);
}

describe('the circuit breaker through the CLI', () => {
  it('flags a configuration failing from the alert, pauses it at the limit, and still runs it by hand', async () => {
    const id = await createFailingConfig('--alert-after', '2', '--pause-after', '3');
    expect(await listed(id)).toMatchObject({
      consecutiveFailures: 0,
      alertAfterFailures: 2,
      pauseAfterFailures: 3,
      failing: false,
      paused: false,
    });
    expect(await runOnce(id)).toBe('data_load_failed');
    expect(await runOnce(id)).toBe('data_load_failed');
    expect(await listed(id)).toMatchObject({ consecutiveFailures: 2, failing: true, paused: false });

    expect(await runOnce(id)).toBe('data_load_failed');
    const paused = await show(id);
    expect(paused).toMatchObject({
      consecutiveFailures: 3,
      failing: true,
      paused: true,
      pausedReason: 'Paused after 3 consecutive Data Load Failed runs',
    });
    expect(await listed(id)).toEqual(paused);

    // A manual run of a paused configuration is queued and runs.
    expect(await runOnce(id)).toBe('data_load_failed');
    expect(await show(id)).toMatchObject({ consecutiveFailures: 4, paused: true });

    const resumed = output(await cli(env, 'config', 'resume', id)) as {
      resumedFrom: { pausedReason: string; consecutiveFailures: number };
    };
    expect(resumed.resumedFrom).toMatchObject({
      pausedReason: 'Paused after 3 consecutive Data Load Failed runs',
      consecutiveFailures: 4,
    });
    expect(await show(id)).toMatchObject({
      consecutiveFailures: 0,
      failing: false,
      paused: false,
      pausedAt: null,
      pausedReason: null,
    });
  }, 60_000);

  it('uses 3 and 5 when no limits are given', async () => {
    const id = await createFailingConfig();
    expect(await show(id)).toMatchObject({ alertAfterFailures: 3, pauseAfterFailures: 5 });
  });
});

describe('pnpm provisioning config pause / resume', () => {
  it('pauses with the reason and resumes', async () => {
    const id = await createFailingConfig();
    const paused = output(
      await cli(env, 'config', 'pause', id, '--reason', 'HR system migration until Monday'),
    ) as { id: string; pausedAt: string; pausedReason: string };
    expect(paused).toMatchObject({ id, pausedReason: 'HR system migration until Monday' });
    expect(await show(id)).toMatchObject({
      paused: true,
      pausedAt: paused.pausedAt,
      pausedReason: 'HR system migration until Monday',
    });
    output(await cli(env, 'config', 'resume', id));
    expect(await show(id)).toMatchObject({ paused: false, pausedReason: null });
  });

  it('refuses, with exit code 2, to resume a configuration that is not paused', async () => {
    const id = await createFailingConfig();
    const before = await show(id);
    expectFailure(await cli(env, 'config', 'resume', id), 2, /is not paused: there is nothing to resume/);
    expect(await show(id)).toEqual(before);
  });

  it('refuses to pause a paused configuration again, keeping the first reason', async () => {
    const id = await createFailingConfig();
    output(await cli(env, 'config', 'pause', id, '--reason', 'First'));
    const before = await show(id);
    expectFailure(
      await cli(env, 'config', 'pause', id, '--reason', 'Second'),
      2,
      /is already paused since .* \(First\); resume it first/,
    );
    expect(await show(id)).toEqual(before);
  });

  it.each([
    ['no --reason', [], /--reason is required/],
    ['an empty --reason', ['--reason', '   '], /--reason is required/],
    ['an oversized --reason', ['--reason', 'x'.repeat(501)], /at most 500 characters/],
    ['a multi-line --reason', ['--reason', 'one\ntwo'], /must not contain control characters/],
    ['a NUL in --reason', ['--reason', 'a\u0000b'], /must not contain NUL/],
    ['an unknown flag', ['--reason', 'x', '--force'], /Unknown option '--force'/],
  ])('refuses to pause with %s (exit 2), changing nothing', async (_label, flags, message) => {
    const id = await createFailingConfig();
    const before = await show(id);
    expectFailure(await cli(env, 'config', 'pause', id, ...(flags as string[])), 2, message);
    expect(await show(id)).toEqual(before);
  });

  it.each([
    ['an unknown', UNKNOWN_ID],
    ['a malformed', 'not-a-configuration'],
    ['an oversized', 'a'.repeat(10_000)],
  ])('answers exit code 2 for %s configuration ID', async (_label, id) => {
    expectFailure(await cli(env, 'config', 'pause', id, '--reason', 'x'), 2, /not found/);
    expectFailure(await cli(env, 'config', 'resume', id), 2, /not found/);
    expectFailure(await cli(env, 'config', 'show', id), 2, /not found/);
  });

  it('needs exactly one ID', async () => {
    expectFailure(await cli(env, 'config', 'resume'), 2, /Expected ID, got none/);
    expectFailure(await cli(env, 'config', 'resume', UNKNOWN_ID, UNKNOWN_ID), 2, /Expected ID/);
  });
});

describe('config create --alert-after / --pause-after', () => {
  it.each([
    ['an alert of 0', ['--alert-after', '0'], /Alert after failures must be between 1 and 100/],
    ['a pause above 100', ['--pause-after', '101'], /Pause after failures must be between 1 and 100/],
    ['a pause below the alert', ['--alert-after', '4', '--pause-after', '2'], /must not be below alert/],
    ['a fraction', ['--alert-after', '2.5'], /Alert after failures must be a whole number/],
    ['text', ['--pause-after', 'five'], /--pause-after must be a number/],
  ])('refuses %s (exit 2) and creates nothing', async (_label, flags, message) => {
    const before = (output(await cli(env, 'config', 'list', '--org', org)) as unknown[]).length;
    expectFailure(
      await cli(
        env,
        'config',
        'create',
        '--org',
        org,
        '--name',
        'Bad limits',
        '--connector',
        'sftp',
        '--settings',
        failingSettings(),
        ...(flags as string[]),
      ),
      2,
      message,
    );
    expect((output(await cli(env, 'config', 'list', '--org', org)) as unknown[]).length).toBe(before);
  });
});
