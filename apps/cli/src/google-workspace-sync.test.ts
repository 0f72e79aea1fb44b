import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { generateSecretKey } from '@provisioning/db';
import { createTestDatabase, type TestDatabase } from '@provisioning/db/testing';
import {
  type GoogleDirectoryServer,
  googleDirectoryUser,
  googleUserId,
  hrRow,
  startGoogleDirectoryServer,
} from '@provisioning/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, output } from './cli-harness.test-support.ts';
import { type Env, parseEnv } from './env.ts';

const WORKER_DIR = fileURLToPath(new URL('../../worker', import.meta.url));
const ADMIN = 'workspace-admin@example.com';
/** Three pages of users.list: 500 users, none (Google sends such pages), then 500. */
const USERS = 1_000;

interface RunView {
  status: string;
  counts: Record<string, number>;
  errorSummary: string | null;
  threshold: { plannedDeactivations: number } | null;
}

/** The real worker (apps/worker, as `pnpm start` runs it) on the test database, reaching loopback servers. */
async function startWorkerProcess(env: Record<string, string>): Promise<ChildProcess> {
  const { DATABASE_URL: _inherited, ...inherited } = process.env;
  const worker = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: WORKER_DIR,
    env: { ...inherited, LOG_LEVEL: 'info', CONNECTOR_ALLOWED_HOSTS: '127.0.0.1/32', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: worker.stdout! }).on('line', (line) => {
      lines.push(line);
      if (line.includes('"worker ready"')) resolve();
    });
    worker.once('exit', (code) => reject(new Error(`the worker exited with ${code}:\n${lines.join('\n')}`)));
  });
  return worker;
}

describe('a Google Workspace configuration, through the support CLI and the worker', () => {
  let database: TestDatabase;
  let env: Env;
  let worker: ChildProcess;
  let google: GoogleDirectoryServer;
  let dir: string;
  let db: pg.Client;
  let org: string;
  let config: string;

  beforeAll(async () => {
    database = await createTestDatabase('cli_google_workspace');
    const secretKey = generateSecretKey();
    env = parseEnv({
      DATABASE_URL: database.url,
      PROVISIONING_SECRET_KEY: secretKey,
      CONNECTOR_ALLOWED_HOSTS: '127.0.0.1/32',
    });
    output(await cli(env, 'migrate'));
    google = await startGoogleDirectoryServer({ admins: [ADMIN], users: USERS, emptyPages: [2] });
    worker = await startWorkerProcess({ DATABASE_URL: database.url, PROVISIONING_SECRET_KEY: secretKey });
    dir = mkdtempSync(join(tmpdir(), 'provisioning-google-cli-'));
    db = new pg.Client({ connectionString: database.url });
    await db.connect();
    org = (output(await cli(env, 'org', 'create', '--name', 'Acme')) as { id: string }).id;
  }, 120_000);

  afterAll(async () => {
    await db?.end();
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await once(worker, 'exit');
    }
    await google?.stop();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** `config create` of a google-workspace configuration signing in to `target`. */
  function configCreate(runEnv: Env, name: string, target: GoogleDirectoryServer) {
    const settings = join(dir, `${name}.json`);
    writeFileSync(
      settings,
      JSON.stringify({
        adminEmail: ADMIN,
        serviceAccountEmail: target.serviceAccount.clientEmail,
        privateKey: target.serviceAccount.privateKey,
        tokenUrl: target.tokenUrl,
        apiBaseUrl: target.apiBaseUrl,
      }),
    );
    const flags = ['--org', org, '--name', name, '--connector', 'google-workspace', '--settings', settings];
    return cli(runEnv, 'config', 'create', ...flags);
  }

  async function createConfig(name: string, target: GoogleDirectoryServer): Promise<string> {
    const created = output(await configCreate(env, name, target));
    // The fake listens on loopback, which the allow-list lets through: no warning.
    expect(created).toEqual({ id: expect.any(String) });
    return (created as { id: string }).id;
  }

  const syncNow = async (configuration: string) =>
    output(await cli(env, 'sync', 'run', configuration, '--wait')) as RunView;

  async function directory(): Promise<{ externalId: string; email: string; status: string }[]> {
    return output(await cli(env, 'users', 'list', '--org', org)) as {
      externalId: string;
      email: string;
      status: string;
    }[];
  }

  /** Every directory user's row version: unchanged when nothing was written to it. */
  async function rowVersions(): Promise<string[]> {
    const { rows } = await db.query<{ v: string }>(
      'select id::text || xmin::text as v from directory_user order by id',
    );
    return rows.map((row) => row.v);
  }

  it('warns, once for the one host, when the token and API endpoints are off the allow-list', async () => {
    const created = output(
      await configCreate({ ...env, CONNECTOR_ALLOWED_HOSTS: undefined }, 'Google unlisted', google),
    );
    expect(created).toEqual({
      id: expect.any(String),
      warnings: [expect.stringMatching(/^127\.0\.0\.1 is a private, loopback or link-local address/)],
    });
  });

  it('imports every user over three pages, one of them empty', async () => {
    config = await createConfig('Google Workspace', google);
    google.requests.length = 0;
    const run = await syncNow(config);
    expect(run).toMatchObject({ status: 'success', errorSummary: null });
    expect(run.counts).toMatchObject({ created: USERS, updated: 0, deactivated: 0, skipped: 0, warnings: 0 });
    expect(google.requests.filter((r) => r.endpoint === 'users').map((r) => [r.page, r.status])).toEqual([
      [1, 200],
      [2, 200],
      [3, 200],
    ]);

    const users = await directory();
    expect(users).toHaveLength(USERS);
    const row = hrRow(10);
    expect(users.find((user) => user.email === 'user.10@example.com')).toEqual({
      externalId: googleUserId(10),
      email: 'user.10@example.com',
      firstName: row.first_name,
      lastName: row.last_name,
      jobTitle: row.job_title,
      department: row.department,
      location: row.location,
      managerEmail: row.manager_email,
      employeeNumber: row.employee_number,
      phone: row.phone,
      startDate: null,
      status: 'active',
    });
  });

  it('writes nothing to the directory when the users are unchanged', async () => {
    const before = await rowVersions();
    const run = await syncNow(config);
    expect(run).toMatchObject({ status: 'success' });
    expect(run.counts).toMatchObject({ created: 0, updated: 0, deactivated: 0, unchanged: USERS });
    expect(await rowVersions()).toEqual(before);
  });

  it('deactivates the users Google lists as suspended or archived', async () => {
    google.setUsers(
      Array.from({ length: USERS }, (_, i) => ({
        ...googleDirectoryUser(i + 1),
        suspended: i + 1 === 7 || i + 1 === 700,
        archived: i + 1 === 8,
      })),
    );
    const run = await syncNow(config);
    expect(run).toMatchObject({ status: 'success' });
    expect(run.counts).toMatchObject({ deactivated: 3, unchanged: USERS - 3 });
    const deactivated = (await directory()).filter((user) => user.status === 'deactivated');
    expect(deactivated.map((user) => user.email).sort()).toEqual([
      'user.700@example.com',
      'user.7@example.com',
      'user.8@example.com',
    ]);
  });

  it('writes nothing when more users would be deactivated than the threshold allows', async () => {
    // 300 of 997 active users is more than the default 20%.
    google.setUsers(
      Array.from({ length: USERS }, (_, i) => ({
        ...googleDirectoryUser(i + 1),
        suspended: i + 1 > 700 || i + 1 === 7,
      })),
    );
    const before = await rowVersions();
    const run = await syncNow(config);
    expect(run).toMatchObject({
      status: 'above_deactivation_threshold',
      threshold: { plannedDeactivations: 300 },
    });
    expect(await rowVersions()).toEqual(before);
  });

  it('fails the run with what to grant when the client ID has no domain-wide delegation', async () => {
    const undelegated = await startGoogleDirectoryServer({ admins: [ADMIN], users: 5, delegatedScopes: [] });
    try {
      const configuration = await createConfig('Google without delegation', undelegated);
      const before = await rowVersions();
      const run = await syncNow(configuration);
      expect(run).toMatchObject({ status: 'data_load_failed', counts: { errors: 1 } });
      expect(run.errorSummary).toMatch(
        /domain-wide delegation is not granted for its client ID and the scope/,
      );
      const { rows } = await db.query('select message, hint from sync_log where run_id = $1', [
        (run as unknown as { id: string }).id,
      ]);
      expect(rows).toEqual([
        {
          message: expect.stringMatching(
            /^Google did not let the service account .* act for workspace-admin@example\.com/,
          ),
          hint: expect.stringMatching(/^Grant domain-wide delegation for this client ID and scope/),
        },
      ]);
      expect(await rowVersions()).toEqual(before);
      expect(undelegated.requests.map((request) => [request.endpoint, request.status])).toEqual([
        ['token', 401],
      ]);
    } finally {
      await undelegated.stop();
    }
  });
});
