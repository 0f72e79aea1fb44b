import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connectorSettings,
  createAccount,
  createOrm,
  createSession,
  DirectoryUser,
  generateSecretKey,
  Organisation,
  type Orm,
  parseSecretKey,
  SyncConfiguration,
  SyncRun,
  verifyPassword,
} from '@provisioning/db';
import { createTestDatabase, type TestDatabase } from '@provisioning/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, expectFailure, output, UNKNOWN_ID } from './cli-harness.test-support.ts';
import { type Env, parseEnv } from './env.ts';

const SFTP_PASSWORD = 'sftp-Secret-Pa55word';
const WORKDAY_PASSWORD = 'workday-Secret-Pa55word';
const GOOGLE_KEY_BODY = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDsecretkeymaterial';

const SFTP_SETTINGS = {
  host: 'sftp.acme.example',
  username: 'acme-sync',
  password: SFTP_PASSWORD,
  hostFingerprint: `SHA256:${'uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s'}`,
  path: '/outbound/employees.csv',
};
const WORKDAY_SETTINGS = {
  reportUrl: 'https://wd.example.com/ccx/service/customreport2/acme/isu_acme/Employees',
  username: 'isu_acme',
  password: WORKDAY_PASSWORD,
};
const GOOGLE_SETTINGS = {
  adminEmail: 'admin@acme.example',
  serviceAccountEmail: 'sync@acme-project.iam.gserviceaccount.com',
  privateKey: `-----BEGIN PRIVATE KEY-----\n${GOOGLE_KEY_BODY}\n-----END PRIVATE KEY-----\n`,
};

describe('pnpm provisioning migrate', () => {
  let fresh: TestDatabase;
  let unmigrated: TestDatabase;
  const secretKey = generateSecretKey();

  beforeAll(async () => {
    fresh = await createTestDatabase('cli_migrate');
    unmigrated = await createTestDatabase('cli_unmigrated');
  });

  afterAll(async () => {
    await fresh?.drop();
    await unmigrated?.drop();
  });

  it('applies the migrations on a fresh database, then has nothing left to apply', async () => {
    const env = parseEnv({ DATABASE_URL: fresh.url, PROVISIONING_SECRET_KEY: secretKey });
    const first = output(await cli(env, 'migrate')) as { applied: string[] };
    expect(first.applied.length).toBeGreaterThan(0);
    for (const name of first.applied) expect(name).toMatch(/^Migration\d{14}_/);

    expect(output(await cli(env, 'migrate'))).toEqual({ applied: [] });
    // The migrated database takes other commands.
    expect(output(await cli(env, 'org', 'create', '--name', 'Acme'))).toEqual({ id: expect.any(String) });
  });

  it('refuses other commands on an unmigrated database and says to run migrate', async () => {
    const env = parseEnv({ DATABASE_URL: unmigrated.url, PROVISIONING_SECRET_KEY: secretKey });
    const result = await cli(env, 'org', 'create', '--name', 'Acme');
    expectFailure(result, 1, /pending migration.*run `pnpm provisioning migrate`/);
  });
});

describe('the support CLI against a migrated database', () => {
  let database: TestDatabase;
  let orm: Orm;
  let env: Env;
  let dir: string;
  const secretKey = generateSecretKey();
  let fileCount = 0;

  /** Writes a temporary file and returns its path. */
  function file(content: string | Buffer, name = `file-${++fileCount}.json`): string {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  }
  const jsonFile = (value: unknown) => file(JSON.stringify(value));

  async function sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
    return orm.em.getConnection().execute<T[]>(query, params);
  }

  async function createOrg(...flags: string[]): Promise<string> {
    const { id } = output(await cli(env, 'org', 'create', '--name', 'Acme', ...flags)) as { id: string };
    return id;
  }

  async function createConfig(org: string, connector: string, settings: unknown, ...flags: string[]) {
    const result = await cli(
      env,
      'config',
      'create',
      '--org',
      org,
      '--name',
      `${connector} feed`,
      '--connector',
      connector,
      '--settings',
      jsonFile(settings),
      ...flags,
    );
    return (output(result) as { id: string }).id;
  }

  beforeAll(async () => {
    database = await createTestDatabase('cli');
    env = parseEnv({ DATABASE_URL: database.url, PROVISIONING_SECRET_KEY: secretKey });
    output(await cli(env, 'migrate'));
    orm = await createOrm({ databaseUrl: database.url, poolSize: 2 });
    dir = mkdtempSync(join(tmpdir(), 'provisioning-cli-test-'));
  });

  afterAll(async () => {
    await orm?.close(true);
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('org create and org update', () => {
    it('creates an organisation in UTC, with provisioning on and the user sync service by default', async () => {
      const id = await createOrg();
      const rows = await sql(
        'select name, time_zone, provisioning_enabled, sync_service from organisation where id = ?',
        [id],
      );
      expect(rows).toEqual([
        { name: 'Acme', time_zone: 'UTC', provisioning_enabled: true, sync_service: 'user-sync' },
      ]);
    });

    it('creates an organisation with every flag given', async () => {
      const result = await cli(
        env,
        'org',
        'create',
        '--name',
        '  Globex Corp  ',
        '--timezone',
        'Europe/London',
        '--provisioning',
        'off',
        '--sync-service',
        'legacy',
      );
      const { id } = output(result) as { id: string };
      const rows = await sql(
        'select name, time_zone, provisioning_enabled, sync_service from organisation where id = ?',
        [id],
      );
      expect(rows).toEqual([
        {
          name: 'Globex Corp',
          time_zone: 'Europe/London',
          provisioning_enabled: false,
          sync_service: 'legacy',
        },
      ]);
    });

    it('refuses an unknown time zone, provisioning value or sync service', async () => {
      expectFailure(
        await cli(env, 'org', 'create', '--name', 'A', '--timezone', 'Mars/Olympus'),
        2,
        /Mars\/Olympus/,
      );
      // Both are names Node still accepts and PostgreSQL no longer knows.
      for (const zone of ['US/Pacific-New', 'Canada/East-Saskatchewan']) {
        expectFailure(
          await cli(env, 'org', 'create', '--name', 'A', '--timezone', zone),
          2,
          new RegExp(`Time zone ${zone} is not known to the database`),
        );
      }
      const org = await createOrg();
      expectFailure(
        await cli(env, 'org', 'update', org, '--timezone', 'US/Pacific-New'),
        2,
        /not known to the database/,
      );
      expectFailure(
        await cli(env, 'org', 'create', '--name', 'A', '--provisioning', 'yes'),
        2,
        /"on" or "off"/,
      );
      expectFailure(await cli(env, 'org', 'create', '--name', 'A', '--sync-service', 'x'), 2, /Sync service/);
      expectFailure(await cli(env, 'org', 'create'), 2, /--name is required/);
    });

    it('updates the given fields and returns the organisation as stored', async () => {
      const id = await createOrg();
      const result = await cli(
        env,
        'org',
        'update',
        id,
        '--name',
        'Acme Ltd',
        '--timezone',
        'America/New_York',
        '--provisioning',
        'off',
        '--sync-service',
        'legacy',
      );
      const expected = {
        id,
        name: 'Acme Ltd',
        timeZone: 'America/New_York',
        provisioningEnabled: false,
        syncService: 'legacy',
        logRetentionDays: 90,
        runRetentionDays: 400,
      };
      expect(output(result)).toEqual(expected);

      // Only the flags given change.
      expect(output(await cli(env, 'org', 'update', id, '--provisioning', 'on'))).toEqual({
        ...expected,
        provisioningEnabled: true,
      });
      const rows = await sql('select name, time_zone, provisioning_enabled from organisation where id = ?', [
        id,
      ]);
      expect(rows).toEqual([{ name: 'Acme Ltd', time_zone: 'America/New_York', provisioning_enabled: true }]);
    });

    it('answers not found for an unknown or malformed organisation ID', async () => {
      expectFailure(await cli(env, 'org', 'update', UNKNOWN_ID, '--name', 'X'), 2, /not found/);
      expectFailure(await cli(env, 'org', 'update', 'not-a-uuid', '--name', 'X'), 2, /not found/);
    });

    it('refuses an update with no flags', async () => {
      const id = await createOrg();
      expectFailure(await cli(env, 'org', 'update', id), 2, /Nothing to update/);
    });

    it('sets the log and run retention, together or one at a time', async () => {
      const id = await createOrg();
      expect(
        output(
          await cli(env, 'org', 'update', id, '--log-retention-days', '30', '--run-retention-days', '365'),
        ),
      ).toMatchObject({ logRetentionDays: 30, runRetentionDays: 365 });
      expect(output(await cli(env, 'org', 'update', id, '--log-retention-days', '365'))).toMatchObject({
        logRetentionDays: 365,
        runRetentionDays: 365,
      });
      expect(
        await sql('select log_retention_days, run_retention_days from organisation where id = ?', [id]),
      ).toEqual([{ log_retention_days: 365, run_retention_days: 365 }]);
    });

    it('refuses a negative, absurd, fractional or non-numeric retention, or a run retention below the log retention, and changes nothing', async () => {
      const id = await createOrg();
      const refusals: [string[], RegExp][] = [
        [['--log-retention-days=-5'], /Log retention must be at least 7 days/],
        [['--log-retention-days', '0'], /Log retention must be at least 7 days/],
        [['--run-retention-days', '99999999999999'], /Run retention must be at most 3650 days/],
        [['--log-retention-days', '1e3'], /--log-retention-days must be a whole number of days, got "1e3"/],
        [['--log-retention-days', '30.5'], /--log-retention-days must be a whole number of days/],
        [['--run-retention-days', 'forever'], /--run-retention-days must be a whole number of days/],
        [['--log-retention-days', ''], /--log-retention-days must be a whole number of days/],
        [['--log-retention-days', '-5'], /argument is ambiguous/],
        [
          ['--log-retention-days', '100', '--run-retention-days', '50'],
          /Run retention \(50 days\) must be at least the log retention \(100 days\)/,
        ],
        // One flag alone is checked against the stored other (90 / 400).
        [
          ['--run-retention-days', '60'],
          /Run retention \(60 days\) must be at least the log retention \(90 days\)/,
        ],
        [
          ['--log-retention-days', '500'],
          /Run retention \(400 days\) must be at least the log retention \(500 days\)/,
        ],
        // A refused retention takes the rest of the update down with it.
        [['--name', 'Renamed', '--log-retention-days', '3'], /at least 7 days/],
      ];
      for (const [flags, message] of refusals) {
        expectFailure(await cli(env, 'org', 'update', id, ...flags), 2, message);
      }
      expect(
        await sql('select name, log_retention_days, run_retention_days from organisation where id = ?', [id]),
      ).toEqual([{ name: 'Acme', log_retention_days: 90, run_retention_days: 400 }]);
    });
  });

  describe('account create', () => {
    it('creates an account with its roles once each and stores only a scrypt hash of the password', async () => {
      const org = await createOrg();
      const password = 'correct horse battery staple';
      const result = await cli(
        env,
        'account',
        'create',
        '--org',
        org,
        '--email',
        'ada@acme.example',
        '--name',
        'Ada Lovelace',
        '--password',
        password,
        '--role',
        'org-admin',
        '--role',
        'people-admin',
        '--role',
        'org-admin',
      );
      const { id } = output(result) as { id: string };
      const [row] = await sql<{ email: string; name: string; roles: string[]; password_hash: string }>(
        'select email, name, roles, password_hash, organisation_id from account where id = ?',
        [id],
      );
      expect(row).toMatchObject({
        email: 'ada@acme.example',
        name: 'Ada Lovelace',
        roles: ['org-admin', 'people-admin'],
        organisation_id: org,
      });
      expect(row?.password_hash).toMatch(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
      expect(row?.password_hash).not.toContain(password);
      expect(await verifyPassword(password, row?.password_hash ?? '')).toBe(true);
      expect(result.stdout).not.toContain(password);
    });

    describe('refuses bad input with exit code 2 and a message naming the problem', () => {
      let org: string;
      const valid = () => [
        '--org',
        org,
        '--email',
        'grace@acme.example',
        '--name',
        'Grace Hopper',
        '--password',
        'a long enough password',
      ];

      beforeAll(async () => {
        org = await createOrg();
      });

      it('an unknown role', async () => {
        expectFailure(
          await cli(env, 'account', 'create', ...valid(), '--role', 'superuser'),
          2,
          /Role must be one of: org-admin/,
        );
      });

      it('no role', async () => {
        expectFailure(await cli(env, 'account', 'create', ...valid()), 2, /At least one role is required/);
      });

      it('a malformed email', async () => {
        const args = valid();
        args[3] = 'grace-at-acme';
        expectFailure(
          await cli(env, 'account', 'create', ...args, '--role', 'basic-user'),
          2,
          /Email must be an email address/,
        );
      });

      it('a short password', async () => {
        const args = valid();
        args[7] = 'short';
        expectFailure(
          await cli(env, 'account', 'create', ...args, '--role', 'basic-user'),
          2,
          /Password must be at least 12 characters/,
        );
      });

      it('a missing --org', async () => {
        expectFailure(
          await cli(env, 'account', 'create', ...valid().slice(2), '--role', 'basic-user'),
          2,
          /--org is required/,
        );
      });

      it('an unknown organisation', async () => {
        const args = valid();
        args[1] = UNKNOWN_ID;
        expectFailure(
          await cli(env, 'account', 'create', ...args, '--role', 'basic-user'),
          2,
          `Organisation ${UNKNOWN_ID} not found`,
        );
      });

      it('an email already taken in another case', async () => {
        const base = [
          'account',
          'create',
          '--org',
          org,
          '--name',
          'Admin',
          '--password',
          'a long enough password',
        ];
        output(await cli(env, ...base, '--email', 'admin@x.com', '--role', 'org-admin'));
        expectFailure(
          await cli(env, ...base, '--email', 'Admin@X.com', '--role', 'org-admin'),
          2,
          /already exists/,
        );
        const rows = await sql('select email from account where lower(email) = ?', ['admin@x.com']);
        expect(rows).toEqual([{ email: 'admin@x.com' }]);
      });
    });
  });

  describe('account sign-out', () => {
    it('revokes every live session of the account, whatever the email’s case', async () => {
      const org = await createOrg();
      const account = await createAccount(orm.em.fork(), {
        organisationId: org,
        email: 'signed.in@acme.example',
        name: 'Signed In',
        password: 'correct horse battery staple',
        roles: ['org-admin'],
      });
      for (let index = 0; index < 2; index++) await createSession(orm.em.fork(), account);
      const result = await cli(env, 'account', 'sign-out', '--email', 'SIGNED.IN@acme.example');
      expect(output(result)).toEqual({ accountId: account.id, revokedSessions: 2 });
      const [row] = await sql<{ live: number }>(
        'select count(*)::int as live from session where account_id = ? and revoked_at is null',
        [account.id],
      );
      expect(row?.live).toBe(0);
      expect(output(await cli(env, 'account', 'sign-out', '--email', 'signed.in@acme.example'))).toEqual({
        accountId: account.id,
        revokedSessions: 0,
      });
    });

    it('answers bad input for an unknown email or a missing flag', async () => {
      expectFailure(
        await cli(env, 'account', 'sign-out', '--email', 'nobody@acme.example'),
        2,
        /No account has the email nobody@acme.example/,
      );
      expectFailure(await cli(env, 'account', 'sign-out'), 2, /--email/);
    });
  });

  describe('config create and config list', () => {
    it.each([
      ['sftp', SFTP_SETTINGS, [SFTP_PASSWORD]],
      ['workday', WORKDAY_SETTINGS, [WORKDAY_PASSWORD]],
      ['google-workspace', GOOGLE_SETTINGS, [GOOGLE_KEY_BODY]],
    ] as const)(
      'creates a %s configuration whose secrets are stored sealed',
      async (connector, settings, secrets) => {
        const org = await createOrg();
        const id = await createConfig(org, connector, settings);

        const [row] = await sql<{ settings: unknown; secrets: string | null }>(
          'select settings::text as settings, secrets from sync_configuration where id = ?',
          [id],
        );
        expect(row?.secrets).toEqual(expect.any(String));
        for (const secret of secrets) {
          expect(row?.settings).not.toContain(secret);
          expect(row?.secrets).not.toContain(secret);
        }

        const configuration = await orm.em.fork().findOneOrFail(SyncConfiguration, { id });
        expect(connectorSettings(configuration, parseSecretKey(secretKey))).toMatchObject(settings);
      },
    );

    it('warns when the connector would not reach the host (a private address off the allow-list), creating the configuration all the same', async () => {
      const org = await createOrg();
      const settings = { ...SFTP_SETTINGS, host: '169.254.169.254' };
      const create = (runEnv: typeof env) =>
        cli(
          runEnv,
          'config',
          'create',
          '--org',
          org,
          '--name',
          `metadata ${runEnv.CONNECTOR_ALLOWED_HOSTS}`,
          '--connector',
          'sftp',
          '--settings',
          jsonFile(settings),
        );
      const warned = output(await create(env)) as { id: string; warnings: string[] };
      expect(warned.warnings).toEqual([
        expect.stringMatching(
          /^169\.254\.169\.254 is a private, loopback or link-local address: .*\(CONNECTOR_ALLOWED_HOSTS\)/,
        ),
      ]);
      expect(await sql('select id from sync_configuration where id = ?', [warned.id])).toHaveLength(1);

      const allowed = output(await create({ ...env, CONNECTOR_ALLOWED_HOSTS: '169.254.0.0/16' }));
      expect(allowed).toEqual({ id: expect.any(String) });
    });

    it('lists the configurations without their secrets, with the default thresholds', async () => {
      const org = await createOrg();
      const sftp = await createConfig(org, 'sftp', SFTP_SETTINGS);
      const workday = await createConfig(org, 'workday', WORKDAY_SETTINGS);
      const google = await createConfig(org, 'google-workspace', GOOGLE_SETTINGS);

      const result = await cli(env, 'config', 'list', '--org', org);
      const list = output(result) as Record<string, unknown>[];
      for (const secret of [SFTP_PASSWORD, WORKDAY_PASSWORD, GOOGLE_KEY_BODY, 'PRIVATE KEY']) {
        expect(result.stdout).not.toContain(secret);
      }
      expect(list.map((c) => c.id)).toEqual([google, sftp, workday]);
      const [, sftpView] = list;
      expect(sftpView).toEqual({
        id: sftp,
        organisationId: org,
        name: 'sftp feed',
        connector: 'sftp',
        settings: {
          host: 'sftp.acme.example',
          port: 22,
          username: 'acme-sync',
          hostFingerprint: SFTP_SETTINGS.hostFingerprint,
          path: '/outbound/employees.csv',
          format: 'auto',
          encoding: 'utf-8',
          maxBytes: 200 * 1024 ** 2,
          maxRows: 500_000,
          maxTextBytes: 128 * 1024 ** 2,
        },
        hasSecrets: true,
        mapping: {},
        schedule: null,
        scheduleTimeZone: null,
        thresholdCount: 500,
        thresholdPercent: 20,
        enabled: true,
        consecutiveFailures: 0,
        alertAfterFailures: 3,
        pauseAfterFailures: 5,
        failing: false,
        paused: false,
        pausedAt: null,
        pausedReason: null,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      for (const view of list) expect(view).toMatchObject({ thresholdCount: 500, thresholdPercent: 20 });
    });

    it('stores a schedule, the thresholds and the mapping given, in the organisation’s time zone', async () => {
      const org = await createOrg('--timezone', 'Europe/Paris');
      const mapping = jsonFile({ email: 'Work Email', employee_id: 'Worker ID' });
      const id = await createConfig(
        org,
        'workday',
        WORKDAY_SETTINGS,
        '--schedule',
        '30 2 * * mon-fri',
        '--threshold-count',
        '25',
        '--threshold-percent',
        '12.5',
        '--mapping',
        mapping,
      );
      const [row] = await sql(
        'select schedule, schedule_time_zone, threshold_count, threshold_percent::text, mapping from sync_configuration where id = ?',
        [id],
      );
      expect(row).toEqual({
        schedule: '30 2 * * mon-fri',
        schedule_time_zone: 'Europe/Paris',
        threshold_count: 25,
        threshold_percent: '12.50',
        mapping: { email: 'Work Email', employee_id: 'Worker ID' },
      });
    });

    it('lists no configurations for a new organisation and refuses an unknown one', async () => {
      const org = await createOrg();
      expect(output(await cli(env, 'config', 'list', '--org', org))).toEqual([]);
      expectFailure(await cli(env, 'config', 'list', '--org', UNKNOWN_ID), 2, /not found/);
    });

    describe('refuses bad input with exit code 2 and a message naming the problem', () => {
      let org: string;

      beforeAll(async () => {
        org = await createOrg();
      });

      const create = (...flags: string[]) =>
        cli(env, 'config', 'create', '--org', org, '--name', 'HR feed', '--connector', 'sftp', ...flags);

      it('a missing settings file', async () => {
        expectFailure(
          await create('--settings', join(dir, 'nowhere.json')),
          2,
          /--settings: cannot read .*nowhere\.json/,
        );
        expectFailure(await create(), 2, /--settings is required/);
      });

      it('a settings file that is not JSON', async () => {
        expectFailure(await create('--settings', file('host: sftp.acme.example\n')), 2, /is not valid JSON/);
      });

      it('a settings file over 1 MB', async () => {
        const big = JSON.stringify({ ...SFTP_SETTINGS, filler: 'x'.repeat(1024 * 1024) });
        expectFailure(await create('--settings', file(big)), 2, /larger than 1 MB/);
      });

      it('a settings path that is a directory or a device, without reading it', async () => {
        expectFailure(await create('--settings', dir), 2, /--settings: .* is not a regular file/);
        expectFailure(await create('--settings', '/dev/zero'), 2, /--settings: .* is not a regular file/);
      });

      it('a JSON array instead of an object', async () => {
        expectFailure(
          await create('--settings', jsonFile([SFTP_SETTINGS])),
          2,
          /settings: .*expected record/,
        );
      });

      it('an unknown connector', async () => {
        const result = await cli(
          env,
          'config',
          'create',
          '--org',
          org,
          '--name',
          'HR feed',
          '--connector',
          'ftp',
          '--settings',
          jsonFile(SFTP_SETTINGS),
        );
        expectFailure(result, 2, /Connector must be one of: sftp, workday, google-workspace/);
      });

      it('a missing required setting, naming the field', async () => {
        const { hostFingerprint: _, ...settings } = SFTP_SETTINGS;
        expectFailure(
          await create('--settings', jsonFile(settings)),
          2,
          /sftp settings is not valid:\s+hostFingerprint:/,
        );
      });

      it('an invalid cron schedule', async () => {
        const settings = jsonFile(SFTP_SETTINGS);
        expectFailure(
          await create('--settings', settings, '--schedule', '0 25 * * *'),
          2,
          /Schedule hour "25"/,
        );
        expectFailure(
          await create('--settings', settings, '--schedule', 'daily'),
          2,
          /Schedule must have 5 fields/,
        );
      });

      it('a threshold that is not a whole number of users or a percentage', async () => {
        const settings = jsonFile(SFTP_SETTINGS);
        expectFailure(
          await create('--settings', settings, '--threshold-count', 'abc'),
          2,
          /--threshold-count must be a number/,
        );
        expectFailure(
          await create('--settings', settings, '--threshold-count=-5'),
          2,
          /--threshold-count must be a number/,
        );
        expectFailure(
          await create('--settings', settings, '--threshold-count', '2.5'),
          2,
          /Threshold count must be a whole number/,
        );
        expectFailure(
          await create('--settings', settings, '--threshold-percent', '150'),
          2,
          /Threshold percent must be between 0 and 100/,
        );
      });

      it('a mapping with an unknown directory field', async () => {
        const mapping = jsonFile({ email: 'Work Email', shoe_size: 'Shoe Size' });
        expectFailure(
          await create('--settings', jsonFile(SFTP_SETTINGS), '--mapping', mapping),
          2,
          /Unknown directory field "shoe_size"/,
        );
      });

      it('a configuration name already used in the organisation in another case', async () => {
        const settings = jsonFile(SFTP_SETTINGS);
        output(await create('--settings', settings));
        const result = await cli(
          env,
          'config',
          'create',
          '--org',
          org,
          '--name',
          'HR FEED',
          '--connector',
          'sftp',
          '--settings',
          settings,
        );
        expectFailure(result, 2, /A configuration named "HR FEED" already exists/);
      });

      it('a NUL character in a settings value or key, which PostgreSQL cannot store', async () => {
        const rename = (flags: string[]) => flags.map((flag) => (flag === 'HR feed' ? 'Payroll feed' : flag));
        const nulValue = jsonFile({ ...SFTP_SETTINGS, sheet: 'Employees\u0000' });
        expectFailure(
          await cli(
            env,
            ...rename([
              'config',
              'create',
              '--org',
              org,
              '--name',
              'HR feed',
              '--connector',
              'sftp',
              '--settings',
              nulValue,
            ]),
          ),
          2,
          /--settings: .*NUL/,
        );
        const nulKey = jsonFile({ 'email\u0000': 'Work Email' });
        expectFailure(
          await cli(
            env,
            ...rename([
              'config',
              'create',
              '--org',
              org,
              '--name',
              'HR feed',
              '--connector',
              'sftp',
              '--settings',
              jsonFile(SFTP_SETTINGS),
              '--mapping',
              nulKey,
            ]),
          ),
          2,
          /--mapping: .*NUL/,
        );
        expect(output(await cli(env, 'config', 'list', '--org', org))).not.toContainEqual(
          expect.objectContaining({ name: 'Payroll feed' }),
        );
      });

      it('a deeply nested settings file', async () => {
        const deep = `${'['.repeat(400_000)}"\\u0000"${']'.repeat(400_000)}`;
        expectFailure(await create('--settings', file(deep)), 2, /--settings: .*NUL/);
        const wide = JSON.stringify({ ...SFTP_SETTINGS, sheet: Array(300_000).fill(0) });
        expectFailure(await create('--settings', file(wide)), 2, /sftp settings is not valid:\s+sheet:/);
      });
    });

    it('fails with exit code 1 and names PROVISIONING_SECRET_KEY when a database is given without a key', async () => {
      const org = await createOrg();
      const keyless = parseEnv({ DATABASE_URL: database.url });
      const result = await cli(
        keyless,
        'config',
        'create',
        '--org',
        org,
        '--name',
        'HR feed',
        '--connector',
        'sftp',
        '--settings',
        jsonFile(SFTP_SETTINGS),
      );
      expectFailure(result, 1, /PROVISIONING_SECRET_KEY is not set/);
      expect(output(await cli(env, 'config', 'list', '--org', org))).toEqual([]);
    });
  });

  describe('runs list and runs show', () => {
    async function insertRun(org: string, configId: string, fields: Partial<SyncRun>): Promise<string> {
      const em = orm.em.fork();
      const configuration = await em.findOneOrFail(SyncConfiguration, configId);
      const run = em.create(SyncRun, {
        organisation: em.getReference(Organisation, org),
        configuration,
        connector: configuration.connector,
        trigger: 'schedule',
        ...fields,
      });
      await em.flush();
      return run.id;
    }

    it('shows a run with its configuration, times, counts and error', async () => {
      const org = await createOrg();
      const configId = await createConfig(org, 'workday', WORKDAY_SETTINGS);
      const runId = await insertRun(org, configId, {
        status: 'needs_attention',
        trigger: 'manual',
        queuedAt: new Date('2024-01-15T22:29:58.000Z'),
        startedAt: new Date('2024-01-15T22:30:00.000Z'),
        finishedAt: new Date('2024-01-15T22:30:04.250Z'),
        durationMs: 4250,
        createdCount: 3,
        updatedCount: 5,
        reactivatedCount: 1,
        deactivatedCount: 2,
        unchangedCount: 980,
        skippedCount: 4,
        warningCount: 6,
        errorCount: 0,
        errorSummary: '6 rows have warnings',
      });

      expect(output(await cli(env, 'runs', 'show', runId))).toStrictEqual({
        id: runId,
        status: 'needs_attention',
        trigger: 'manual',
        configurationId: configId,
        configurationName: 'workday feed',
        connector: 'workday',
        queuedAt: '2024-01-15T22:29:58.000Z',
        startedAt: '2024-01-15T22:30:00.000Z',
        finishedAt: '2024-01-15T22:30:04.250Z',
        durationMs: 4250,
        progress: { read: 0, planned: 0, applied: 0 },
        logKind: 'result',
        logPurge: null,
        counts: {
          created: 3,
          updated: 5,
          reactivated: 1,
          deactivated: 2,
          unchanged: 980,
          skipped: 4,
          warnings: 6,
          errors: 0,
        },
        errorSummary: '6 rows have warnings',
        threshold: null,
        notification: null,
        approval: null,
        triggerApproval: null,
        source: null,
      });
    });

    it('lists the organisation’s runs newest first, a queued run with nulls for what has not happened', async () => {
      const org = await createOrg();
      const other = await createOrg();
      const configId = await createConfig(org, 'sftp', SFTP_SETTINGS);
      const otherConfig = await createConfig(other, 'sftp', SFTP_SETTINGS);
      const older = await insertRun(org, configId, { queuedAt: new Date('2024-01-01T00:00:00Z') });
      // One queued run per configuration at a time (a partial unique index): the newer one has finished.
      const newer = await insertRun(org, configId, {
        status: 'cancelled',
        queuedAt: new Date('2024-02-01T00:00:00Z'),
      });
      await insertRun(other, otherConfig, { queuedAt: new Date('2024-03-01T00:00:00Z') });

      const list = output(await cli(env, 'runs', 'list', '--org', org)) as Record<string, unknown>[];
      expect(list.map((run) => run.id)).toEqual([newer, older]);
      expect(list[1]).toStrictEqual({
        id: older,
        status: 'queued',
        trigger: 'schedule',
        configurationId: configId,
        configurationName: 'sftp feed',
        connector: 'sftp',
        queuedAt: '2024-01-01T00:00:00.000Z',
        startedAt: null,
        finishedAt: null,
        durationMs: null,
        progress: { read: 0, planned: 0, applied: 0 },
        logKind: null,
        logPurge: null,
        counts: {
          created: 0,
          updated: 0,
          reactivated: 0,
          deactivated: 0,
          unchanged: 0,
          skipped: 0,
          warnings: 0,
          errors: 0,
        },
        errorSummary: null,
        threshold: null,
        notification: null,
        approval: null,
        triggerApproval: null,
        source: null,
      });
      expect(output(await cli(env, 'runs', 'show', older))).toStrictEqual(list[1]);
    });

    it('answers not found for an unknown or malformed run ID, and for an unknown organisation', async () => {
      expectFailure(await cli(env, 'runs', 'show', UNKNOWN_ID), 2, `Run ${UNKNOWN_ID} not found`);
      expectFailure(await cli(env, 'runs', 'show', 'run-42'), 2, 'Run run-42 not found');
      expectFailure(await cli(env, 'runs', 'list', '--org', UNKNOWN_ID), 2, /not found/);
      expectFailure(await cli(env, 'runs', 'list'), 2, /--org is required/);
    });
  });

  describe('users list', () => {
    it('lists the organisation’s directory users with every field', async () => {
      const org = await createOrg();
      const em = orm.em.fork();
      const organisation = em.getReference(Organisation, org);
      em.create(DirectoryUser, {
        organisation,
        externalId: 'E-1001',
        email: 'zoe@acme.example',
        firstName: 'Zoë',
        lastName: 'Quinn',
        jobTitle: 'Engineer',
        department: 'R&D',
        location: 'London',
        managerEmail: 'ada@acme.example',
        employeeNumber: '1001',
        phone: '+44 20 7946 0000',
        startDate: '2024-01-15',
        status: 'deactivated',
      });
      em.create(DirectoryUser, {
        organisation,
        email: 'adam@acme.example',
        firstName: 'Adam',
        lastName: 'Smith',
      });
      await em.flush();

      expect(output(await cli(env, 'users', 'list', '--org', org))).toStrictEqual([
        {
          externalId: null,
          email: 'adam@acme.example',
          firstName: 'Adam',
          lastName: 'Smith',
          jobTitle: null,
          department: null,
          location: null,
          managerEmail: null,
          employeeNumber: null,
          phone: null,
          startDate: null,
          status: 'active',
        },
        {
          externalId: 'E-1001',
          email: 'zoe@acme.example',
          firstName: 'Zoë',
          lastName: 'Quinn',
          jobTitle: 'Engineer',
          department: 'R&D',
          location: 'London',
          managerEmail: 'ada@acme.example',
          employeeNumber: '1001',
          phone: '+44 20 7946 0000',
          startDate: '2024-01-15',
          status: 'deactivated',
        },
      ]);
    });

    it('refuses an unknown organisation', async () => {
      expectFailure(await cli(env, 'users', 'list', '--org', 'acme'), 2, /Organisation acme not found/);
    });
  });

  describe('sync run and sync cancel', () => {
    it('queues a manual run with its job, and a second trigger joins the queued run', async () => {
      const org = await createOrg();
      const config = await createConfig(org, 'sftp', SFTP_SETTINGS, '--name', 'Queued feed');
      const first = output(await cli(env, 'sync', 'run', config)) as {
        id: string;
        status: string;
        trigger: string;
      };
      expect(first).toMatchObject({ status: 'queued', trigger: 'manual', configurationId: config });
      const second = output(await cli(env, 'sync', 'run', config)) as { id: string };
      expect(second.id).toBe(first.id);
      expect(
        await sql(
          `select count(*)::int as jobs from pgboss.job where name = 'sync-run' and data->>'runId' = ?`,
          [first.id],
        ),
      ).toEqual([{ jobs: 1 }]);
    });

    it('cancels a queued run at once, and refuses to cancel it again', async () => {
      const org = await createOrg();
      const config = await createConfig(org, 'sftp', SFTP_SETTINGS, '--name', 'Cancelled feed');
      const run = output(await cli(env, 'sync', 'run', config)) as { id: string };
      expect(output(await cli(env, 'sync', 'cancel', run.id))).toMatchObject({
        id: run.id,
        status: 'cancelled',
        cancel: 'cancelled',
        errorSummary: 'Cancelled by support before it started',
      });
      expectFailure(await cli(env, 'sync', 'cancel', run.id), 2, /already finished \(Cancelled\)/);
    });

    it('asks a running run to stop at its next checkpoint', async () => {
      const org = await createOrg();
      const config = await createConfig(org, 'sftp', SFTP_SETTINGS, '--name', 'Running feed');
      const run = output(await cli(env, 'sync', 'run', config)) as { id: string };
      await sql(`update sync_run set status = 'in_progress', started_at = now() where id = ?`, [run.id]);
      expect(output(await cli(env, 'sync', 'cancel', run.id))).toMatchObject({
        status: 'in_progress',
        cancel: 'cancel_requested',
      });
    });

    it('refuses unknown configurations and runs with exit code 2', async () => {
      expectFailure(await cli(env, 'sync', 'run', UNKNOWN_ID), 2, /Configuration .* not found/);
      expectFailure(await cli(env, 'sync', 'run', 'not-an-id', '--wait'), 2, /not found/);
      expectFailure(await cli(env, 'sync', 'cancel', UNKNOWN_ID), 2, /Run .* not found/);
    });
  });

  describe('usage', () => {
    it('refuses an unknown command with the usage', async () => {
      expectFailure(
        await cli(env, 'frobnicate'),
        2,
        /unknown command "frobnicate"[\s\S]*Usage: pnpm provisioning/,
      );
      expectFailure(await cli(env, 'org', 'delete', UNKNOWN_ID), 2, /unknown command "org delete"/);
    });

    it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
      'refuses "%s", a name every JavaScript object has, as an unknown command',
      async (name) => {
        expectFailure(await cli(env, name), 2, /unknown command[\s\S]*Usage:/);
      },
    );

    it('refuses a two-word command given as a single argument', async () => {
      expectFailure(await cli(env, 'org create', '--name', 'Acme'), 2, /unknown command "org create --name"/);
    });

    it('refuses an unknown flag with the command’s usage', async () => {
      expectFailure(
        await cli(env, 'org', 'create', '--name', 'Acme', '--colour', 'red'),
        2,
        /Unknown option '--colour'[\s\S]*Usage: org create --name N/,
      );
    });

    it('refuses a missing or an extra positional argument with the command’s usage', async () => {
      expectFailure(await cli(env, 'runs', 'show'), 2, /Expected RUN, got none\nUsage: runs show RUN/);
      expectFailure(await cli(env, 'runs', 'show', UNKNOWN_ID, 'extra'), 2, /Expected RUN, got .*"extra"/);
      expectFailure(await cli(env, 'migrate', 'now'), 2, /Expected no arguments, got "now"/);
    });

    it('prints the usage on stdout for --help, and on stderr without a command', async () => {
      const help = await cli(env, '--help');
      expect(help.code).toBe(0);
      expect(help.stderr).toBe('');
      expect(help.stdout).toMatch(/^Usage: pnpm provisioning <command>/);
      for (const command of ['migrate', 'org create', 'config create', 'runs show', 'users list']) {
        expect(help.stdout).toContain(command);
      }

      const commandHelp = await cli(env, 'config', 'create', '--help');
      expect(commandHelp.code).toBe(0);
      expect(commandHelp.stdout).toMatch(/^Usage: pnpm provisioning config create --org ORG/);

      expectFailure(await cli(env), 2, /^Usage: pnpm provisioning <command>/);
    });
  });

  describe('hostile input', () => {
    it('refuses a 100 KB name', async () => {
      const name = 'A'.repeat(100 * 1024);
      expectFailure(
        await cli(env, 'org', 'create', '--name', name),
        2,
        /Name must be at most 200 characters/,
      );
      const org = await createOrg();
      const result = await cli(
        env,
        'config',
        'create',
        '--org',
        org,
        '--name',
        name,
        '--connector',
        'sftp',
        '--settings',
        jsonFile(SFTP_SETTINGS),
      );
      expectFailure(result, 2, /Name must be at most 100 characters/);
      expect(result.stderr.length).toBeLessThan(1000);
    });

    it('refuses a name with newlines, which could forge lines in logs and output', async () => {
      const id = await createOrg();
      const result = await cli(env, 'org', 'update', id, '--name', 'Acme\n{"forged": true}\nLtd');
      expectFailure(result, 2, /name: Name must not contain control characters/);
      expect(await sql('select name from organisation where id = ?', [id])).not.toEqual([
        { name: 'Acme\n{"forged": true}\nLtd' },
      ]);
    });

    it('refuses a NUL character in an argument with exit code 2 instead of a database error', async () => {
      expectFailure(await cli(env, 'org', 'create', '--name', 'Acme\u0000Evil'), 2, /--name .*NUL/);
      const org = await createOrg();
      const result = await cli(
        env,
        'account',
        'create',
        '--org',
        org,
        '--email',
        'nul@acme.example',
        '--name',
        'Nul\u0000',
        '--password',
        'a long enough password',
        '--role',
        'basic-user',
      );
      expectFailure(result, 2, /--name .*NUL/);
      expect(await sql('select 1 from account where organisation_id = ?', [org])).toEqual([]);
      expectFailure(await cli(env, 'runs', 'show', `${UNKNOWN_ID}\u0000`), 2, /RUN .*NUL/);
    });
  });
});
