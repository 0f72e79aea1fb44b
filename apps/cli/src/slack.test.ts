import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOrm, generateSecretKey, type Orm, sql } from '@provisioning/db';
import { createTestDatabase, type TestDatabase } from '@provisioning/db/testing';
import { type FakeSlack, startSlackServer } from '@provisioning/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, expectFailure, output, UNKNOWN_ID } from './cli-harness.test-support.ts';
import { type Env, parseEnv } from './env.ts';

const TOKEN = 'xoxb-1111-2222-abcdefghijklmnop';
const OTHER_TOKEN = 'xoxb-3333-4444-abcdefghijklmnop';

describe('pnpm provisioning slack', () => {
  let database: TestDatabase;
  let env: Env;
  let slack: FakeSlack;
  let orm: Orm;
  let dir: string;

  function tokenFile(token: string): string {
    const path = join(dir, `token-${Math.random().toString(36).slice(2)}`);
    writeFileSync(path, `${token}\n`, { mode: 0o600 });
    return path;
  }

  /** `slack connect` for an organisation with a token file and a channel, and any further flags. */
  function connect(org: string, tokenPath: string, channel: string, ...flags: string[]) {
    return cli(
      env,
      'slack',
      'connect',
      '--org',
      org,
      '--token-file',
      tokenPath,
      '--channel',
      channel,
      ...flags,
    );
  }

  async function createOrg(): Promise<string> {
    return (output(await cli(env, 'org', 'create', '--name', 'Acme')) as { id: string }).id;
  }

  beforeAll(async () => {
    database = await createTestDatabase('cli_slack');
    slack = await startSlackServer({
      teams: [
        { id: 'T0ACME', name: 'Acme', token: TOKEN, botUserId: 'U0BOT', botId: 'B0BOT' },
        { id: 'T0OTHER', token: OTHER_TOKEN },
      ],
    });
    env = parseEnv({
      DATABASE_URL: database.url,
      PROVISIONING_SECRET_KEY: generateSecretKey(),
      SLACK_API_URL: slack.apiUrl,
    });
    output(await cli(env, 'migrate'));
    orm = await createOrm({ databaseUrl: database.url, poolSize: 2 });
    dir = mkdtempSync(join(tmpdir(), 'provisioning-slack-cli-'));
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await orm?.close(true);
    await slack?.stop();
    await database?.drop();
  });

  it('connects a workspace with the team and bot user from auth.test, and never prints or stores the token in clear', async () => {
    const org = await createOrg();
    const result = await connect(org, tokenFile(TOKEN), 'C0RUNS123');
    expect(result.stdout).not.toContain(TOKEN);
    expect(output(result)).toMatchObject({
      organisationId: org,
      teamId: 'T0ACME',
      teamName: 'Acme',
      botUserId: 'U0BOT',
      channelId: 'C0RUNS123',
      notify: 'failures-and-recovery',
    });
    const [stored] = await sql<{ bot_token: string }>(
      orm.em.fork(),
      'select bot_token from slack_installation where organisation_id = ?',
      [org],
    );
    expect(stored!.bot_token).not.toContain('xoxb');

    const status = await cli(env, 'slack', 'status', '--org', org);
    expect(status.stdout).not.toContain(TOKEN);
    expect(output(status)).toMatchObject({
      connected: true,
      teamId: 'T0ACME',
      notifications: { counts: { pending: 0, sent: 0, failed: 0 }, recentFailures: [] },
    });
  });

  it('reconnects with another channel and policy, and disconnects', async () => {
    const org = await createOrg();
    output(await connect(org, tokenFile(OTHER_TOKEN), 'C0RUNS123'));
    expect(output(await connect(org, tokenFile(OTHER_TOKEN), 'G0PRIVATE1', '--notify', 'all'))).toMatchObject(
      { channelId: 'G0PRIVATE1', notify: 'all' },
    );
    expect(output(await cli(env, 'slack', 'disconnect', '--org', org))).toEqual({ disconnected: true });
    expect(output(await cli(env, 'slack', 'status', '--org', org))).toMatchObject({ connected: false });
    expect(output(await cli(env, 'slack', 'disconnect', '--org', org))).toEqual({ disconnected: false });
  });

  it('refuses a workspace already connected to another organisation', async () => {
    const first = await createOrg();
    const second = await createOrg();
    const token = tokenFile(TOKEN);
    await cli(env, 'slack', 'disconnect', '--org', first);
    // Whichever organisation holds T0ACME from the first test keeps it.
    const result = await connect(second, token, 'C0RUNS123');
    expectFailure(result, 2, /already connected to another organisation/);
  });

  it('refuses a token Slack does not accept, a file that holds no bot token, and a channel name, without echoing the token', async () => {
    const org = await createOrg();
    const revoked = 'xoxb-9999-9999-notknowntoslack';
    const refused = await connect(org, tokenFile(revoked), 'C0RUNS123');
    expectFailure(refused, 2, /Slack did not accept the token: .*invalid_auth/);
    expect(refused.stderr).not.toContain(revoked);
    expectFailure(
      await connect(org, tokenFile('xoxp-user-token-not-a-bot'), 'C0RUNS123'),
      2,
      /Bot User OAuth Token \(xoxb-…/,
    );
    expectFailure(await connect(org, tokenFile(TOKEN), '#general'), 2, /--channel must be a channel ID/);
    expectFailure(
      await connect(org, join(dir, 'missing'), 'C0RUNS123'),
      2,
      /--token-file: cannot read .*ENOENT/,
    );
    expectFailure(
      await connect(org, tokenFile(TOKEN), 'C0RUNS123', '--notify', 'sometimes'),
      2,
      /failures-and-recovery/,
    );
    expectFailure(await cli(env, 'slack', 'status', '--org', UNKNOWN_ID), 2, /not found/);
  });

  it('shows failed notifications with their reason in status and in runs show', async () => {
    const org = await createOrg();
    output(await connect(org, tokenFile(OTHER_TOKEN), 'C0RUNS123'));
    const db = orm.em.fork();
    const [config] = await sql<{ id: string }>(
      db,
      `insert into sync_configuration (id, organisation_id, name, connector, settings, mapping, created_at, updated_at)
       values (gen_random_uuid(), ?, 'HR', 'sftp', '{}', '{}', now(), now()) returning id`,
      [org],
    );
    const [run] = await sql<{ id: string }>(
      db,
      `insert into sync_run (id, organisation_id, configuration_id, status, trigger, queued_at, started_at)
       values (gen_random_uuid(), ?, ?, 'in_progress', 'manual', now(), now()) returning id`,
      [org, config!.id],
    );
    await sql(db, `update sync_run set status = 'data_load_failed', finished_at = now() where id = ?`, [
      run!.id,
    ]);
    await sql(
      db,
      `update run_notification set state = 'failed', last_error = 'The bot is not in the channel (not_in_channel)' where run_id = ?`,
      [run!.id],
    );
    expect(output(await cli(env, 'slack', 'status', '--org', org))).toMatchObject({
      notifications: {
        counts: { failed: 1 },
        recentFailures: [{ runId: run!.id, reason: 'The bot is not in the channel (not_in_channel)' }],
      },
    });
    expect(output(await cli(env, 'runs', 'show', run!.id))).toMatchObject({
      notification: {
        state: 'failed',
        reason: 'The bot is not in the channel (not_in_channel)',
        sentAt: null,
      },
    });
  });
});
