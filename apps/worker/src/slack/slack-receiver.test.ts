import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { confirmSlackLink, createSlackLinkCode, type Orm, purgeExpiredLogs, sql } from '@provisioning/db';
import {
  createMigratedTestOrm,
  type MigratedTestOrm,
  seedConfiguration,
  seedLog,
  seedOrganisation,
  seedRun,
  seedSlackInstallation,
} from '@provisioning/db/testing';
import { ACCESS_DENIAL_MESSAGES, type Role } from '@provisioning/shared';
import { NOT_LINKED_ANSWER } from '@provisioning/slack';
import { writeRunLogFile } from '@provisioning/sync';
import { type FakeSlack, type SentRequest, startSlackServer } from '@provisioning/testkit';
import ExcelJS from 'exceljs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWorker, startWorker } from '../worker.ts';
import { SLACK_MAX_BODY_BYTES } from './slack-receiver.ts';

const secretKey = randomBytes(32);
const PUBLIC_WEB_URL = 'https://admin.acme.example';
let database: MigratedTestOrm;
let orm: Orm;
let slack: FakeSlack;
let worker: RunningWorker;
let commandsUrl: string;
let interactionsUrl: string;
let dir: string;

/** The Acme organisation, connected as team T0ACME; Globex's runs must never reach Acme's people. */
let acme: {
  id: string;
  configurationId: string;
  runWithLog: string;
  cancelledRun: string;
  accounts: Record<Role, string>;
};
let globexRun: string;

async function accountId(email: string): Promise<string> {
  const [row] = await sql<{ id: string }>(orm.em.fork(), 'select id from account where email = ?', [email]);
  return row!.id;
}

/** Links Slack user `userId` of T0ACME to the account with `email`, the way the link page does. */
async function link(userId: string, email: string): Promise<void> {
  const code = await createSlackLinkCode(orm.em.fork(), {
    organisationId: acme.id,
    teamId: 'T0ACME',
    slackUserId: userId,
  });
  await confirmSlackLink(orm.em.fork(), acme.id, await accountId(email), code);
}

async function slackCommandJobs(): Promise<number> {
  const [row] = await sql<{ count: number }>(
    orm.em.fork(),
    `select count(*)::int as count from pgboss.job where name = 'slack-command'`,
  );
  return row!.count;
}

/** The answer a request got through its response_url. */
async function answerTo(sent: SentRequest): Promise<string> {
  const response = await slack.until(() => slack.responses.find((r) => r.id === sent.responseUrlId));
  return String(response.body.text);
}

beforeAll(async () => {
  database = await createMigratedTestOrm('slack_receiver');
  orm = database.orm;
  slack = await startSlackServer({
    teams: [
      { id: 'T0ACME', token: 'xoxb-acme-token-0000', channels: ['C0RUNS'] },
      { id: 'T0UNKNOWN', token: 'xoxb-unknown-token-0' },
    ],
  });
  const organisation = await seedOrganisation(orm, { name: 'Acme', timeZone: 'Europe/London' });
  const configurationId = await seedConfiguration(orm, organisation.id, 'HR export');
  const runWithLog = await seedRun(orm, {
    organisationId: organisation.id,
    configurationId,
    status: 'needs_attention',
    startedAt: '2024-01-15T22:30:00Z',
  });
  await seedLog(orm, runWithLog, [
    {
      rowNumber: 2,
      externalId: 'E-1',
      email: 'zoe@acme.example',
      name: 'Zoë Ørsted, Jr.',
      action: 'create',
      outcome: 'applied',
    },
    {
      rowNumber: 3,
      externalId: '=1+1',
      email: 'bad',
      name: '@Evil',
      action: 'skip',
      outcome: 'not_applied',
      message: 'Row 3: email "bad" is not valid',
    },
  ]);
  const cancelledRun = await seedRun(orm, {
    organisationId: organisation.id,
    configurationId,
    status: 'cancelled',
    startedAt: '2024-01-10T10:00:00Z',
  });
  acme = { id: organisation.id, configurationId, runWithLog, cancelledRun, accounts: organisation.accounts };
  const globex = await seedOrganisation(orm, { name: 'Globex', roles: ['org-admin'] });
  globexRun = await seedRun(orm, {
    organisationId: globex.id,
    configurationId: await seedConfiguration(orm, globex.id, 'HR export'),
    status: 'success',
    startedAt: '2024-02-01T10:00:00Z',
  });
  await seedSlackInstallation(orm, secretKey, {
    organisationId: acme.id,
    teamId: 'T0ACME',
    botToken: 'xoxb-acme-token-0000',
  });
  await link('U0ADMIN', acme.accounts['people-admin']);
  await link('U0BASIC', acme.accounts['basic-user']);
  worker = await startWorker({
    databaseUrl: database.url,
    logger: pino({ level: 'silent' }),
    secretKey,
    concurrency: 1,
    slack: { apiUrl: slack.apiUrl, publicWebUrl: PUBLIC_WEB_URL },
    slackReceiver: { port: 0, host: '127.0.0.1', signingSecret: slack.signingSecret },
  });
  commandsUrl = `${worker.slackUrl}/slack/commands`;
  interactionsUrl = `${worker.slackUrl}/slack/interactions`;
  dir = mkdtempSync(join(tmpdir(), 'provisioning-slack-receiver-'));
});

afterAll(async () => {
  await worker?.stop();
  await slack?.stop();
  await database?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('/sync-logs', () => {
  it('answers its health check before anything else', async () => {
    const response = await fetch(`${worker.slackUrl}/healthz`);
    expect(response.status).toBe(200);
  });

  it('sends the latest run’s log by DM as CSV, byte for byte what `logs export` writes', async () => {
    const sent = await slack.sendCommand(commandsUrl, { teamId: 'T0ACME', userId: 'U0ADMIN', text: '' });
    expect(sent.status).toBe(200);
    expect(JSON.parse(sent.body)).toMatchObject({
      response_type: 'ephemeral',
      text: expect.stringContaining('direct message'),
    });
    expect(await answerTo(sent)).toBe(
      'Sent “Sync Logs - 15 Jan 2024 10.30pm.csv” to you in a direct message.',
    );
    const file = slack.files.find(
      (f) => f.filename === 'Sync Logs - 15 Jan 2024 10.30pm.csv' && f.channel === 'DU0ADMIN',
    );
    expect(file).toBeDefined();
    const exported = await writeRunLogFile({ em: orm.em.fork(), runId: acme.runWithLog, format: 'csv', dir });
    expect(file!.bytes.equals(readFileSync(exported.path))).toBe(true);
    expect(file!.title).toBe('Sync Logs - 15 Jan 2024 10.30pm.csv');
  });

  it('sends a run by ID as XLSX whose rows read back equal the log', async () => {
    const sent = await slack.sendCommand(commandsUrl, {
      teamId: 'T0ACME',
      userId: 'U0ADMIN',
      text: `${acme.runWithLog} xlsx`,
    });
    expect(await answerTo(sent)).toContain('Sync Logs - 15 Jan 2024 10.30pm.xlsx');
    const file = slack.files.find((f) => f.filename.endsWith('.xlsx'))!;
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(file.bytes as unknown as ArrayBuffer);
    const rows: unknown[][] = [];
    workbook.worksheets[0]!.eachRow((row) => rows.push((row.values as unknown[]).slice(1)));
    expect(rows).toEqual([
      ['Row', 'External ID', 'Email', 'Name', 'Action', 'Outcome', 'Changes', 'Message'],
      [2, 'E-1', 'zoe@acme.example', 'Zoë Ørsted, Jr.', 'Created', 'Applied'],
      [3, "'=1+1", 'bad', "'@Evil", 'Skipped', 'Not applied', undefined, 'Row 3: email "bad" is not valid'],
    ]);
  });

  it('sends the latest run of a configuration named in quotes, and says when no configuration has that name', async () => {
    const named = await slack.sendCommand(commandsUrl, {
      teamId: 'T0ACME',
      userId: 'U0ADMIN',
      text: '"hr EXPORT" csv',
    });
    expect(await answerTo(named)).toContain('Sync Logs - 15 Jan 2024 10.30pm.csv');
    const unknown = await slack.sendCommand(commandsUrl, {
      teamId: 'T0ACME',
      userId: 'U0ADMIN',
      text: '"Payroll"',
    });
    expect(await answerTo(unknown)).toBe('No configuration is named “Payroll”.');
  });

  it('sends the log by DM when its button is clicked', async () => {
    const before = slack.files.length;
    const sent = await slack.clickButton(interactionsUrl, {
      teamId: 'T0ACME',
      userId: 'U0ADMIN',
      actionId: 'download_log_xlsx',
      value: `${acme.runWithLog} xlsx`,
    });
    expect(sent.status).toBe(200);
    expect(await answerTo(sent)).toContain('.xlsx');
    expect(slack.files.length).toBe(before + 1);
    expect(slack.files.at(-1)!.channel).toBe('DU0ADMIN');
  });

  it('tells the asker when Slack refuses the upload, and sends nothing half-done', async () => {
    const before = slack.files.length;
    slack.fault({ upload: 500, times: 1 });
    const sent = await slack.sendCommand(commandsUrl, {
      teamId: 'T0ACME',
      userId: 'U0ADMIN',
      text: 'latest',
    });
    expect(await answerTo(sent)).toMatch(
      /^Slack did not take the file “Sync Logs - 15 Jan 2024 10\.30pm\.csv” \(Slack refused the file upload \(HTTP 500\)\)\. Try again/,
    );
    expect(slack.files.length).toBe(before);
  });

  it('answers help and bad syntax at once with the usage, without a job', async () => {
    const jobs = await slackCommandJobs();
    const help = await slack.sendCommand(commandsUrl, { teamId: 'T0ACME', userId: 'U0ADMIN', text: 'help' });
    expect(JSON.parse(help.body).text).toContain('/sync-logs link');
    const bad = await slack.sendCommand(commandsUrl, {
      teamId: 'T0ACME',
      userId: 'U0ADMIN',
      text: 'yesterday',
    });
    expect(JSON.parse(bad.body)).toMatchObject({
      response_type: 'ephemeral',
      text: expect.stringContaining('not a run ID'),
    });
    expect(await slackCommandJobs()).toBe(jobs);
  });

  it('refuses a Slack user who is not linked, and says how to link', async () => {
    const sent = await slack.sendCommand(commandsUrl, {
      teamId: 'T0ACME',
      userId: 'U0STRANGER',
      text: 'latest',
    });
    expect(await answerTo(sent)).toBe(NOT_LINKED_ANSWER);
  });

  it('refuses a linked account whose role may not download logs, with the permission table’s reason', async () => {
    const sent = await slack.sendCommand(commandsUrl, {
      teamId: 'T0ACME',
      userId: 'U0BASIC',
      text: 'latest',
    });
    const denial = ACCESS_DENIAL_MESSAGES['no-permission'];
    expect(await answerTo(sent)).toBe(`${denial.title}. ${denial.action}`);
  });

  it('does not find another organisation’s run, nor an unknown one', async () => {
    const other = await slack.sendCommand(commandsUrl, {
      teamId: 'T0ACME',
      userId: 'U0ADMIN',
      text: globexRun,
    });
    expect(await answerTo(other)).toBe(`Run ${globexRun} was not found in your organisation.`);
  });

  it('says why a run has no log', async () => {
    const sent = await slack.sendCommand(commandsUrl, {
      teamId: 'T0ACME',
      userId: 'U0ADMIN',
      text: acme.cancelledRun,
    });
    expect(await answerTo(sent)).toContain('This run has no logs to download: it is Cancelled.');
  });

  it('says when and under which policy retention deleted a run’s log, to the asker alone, and sends no file', async () => {
    const purgedRun = await seedRun(orm, {
      organisationId: acme.id,
      configurationId: acme.configurationId,
      status: 'success',
      startedAt: '2023-01-10T08:00:00Z',
    });
    await seedLog(orm, purgedRun, [
      { rowNumber: 2, email: 'ada@acme.example', action: 'create', outcome: 'applied' },
    ]);
    // Only this run had ended 90 days before that clock. 23:30 UTC on 1 June is 2 June in London (BST).
    expect(await purgeExpiredLogs(orm, { now: new Date('2023-06-01T23:30:00Z') })).toMatchObject({
      logsPurged: 1,
    });
    const files = slack.files.length;

    const sent = await slack.sendCommand(commandsUrl, {
      teamId: 'T0ACME',
      userId: 'U0ADMIN',
      text: `${purgedRun} xlsx`,
    });
    const response = await slack.until(() => slack.responses.find((r) => r.id === sent.responseUrlId));
    expect(response.body).toMatchObject({
      response_type: 'ephemeral',
      text: 'This log was deleted on 2 Jun 2023 under the 90-day retention policy.',
    });
    expect(slack.files).toHaveLength(files);
  });

  it('gives a link to confirm on the admin page, and unlinks', async () => {
    const sent = await slack.sendCommand(commandsUrl, { teamId: 'T0ACME', userId: 'U0NEW', text: 'link' });
    const text = await answerTo(sent);
    expect(text).toMatch(new RegExp(`${PUBLIC_WEB_URL}/slack/link\\?code=[A-Za-z0-9_-]{43}`));
    const unlinked = await slack.sendCommand(commandsUrl, {
      teamId: 'T0ACME',
      userId: 'U0BASIC',
      text: 'unlink',
    });
    expect(await answerTo(unlinked)).toContain('no longer linked');
    await link('U0BASIC', acme.accounts['basic-user']);
  });

  describe('refuses, doing nothing, a request', () => {
    const cases: [string, Parameters<FakeSlack['sendCommand']>[1], number][] = [
      ['with a bad signature', { teamId: 'T0ACME', userId: 'U0ADMIN', signature: 'bad' }, 401],
      ['without a signature', { teamId: 'T0ACME', userId: 'U0ADMIN', signature: 'missing' }, 401],
      ['older than five minutes', { teamId: 'T0ACME', userId: 'U0ADMIN', signature: 'stale' }, 401],
      [
        'from more than five minutes in the future',
        { teamId: 'T0ACME', userId: 'U0ADMIN', signature: 'future' },
        401,
      ],
      [
        'whose body was changed after signing',
        { teamId: 'T0ACME', userId: 'U0ADMIN', signature: 'tampered' },
        401,
      ],
      ['from a workspace that is not connected', { teamId: 'T0UNKNOWN', userId: 'U0ADMIN' }, 401],
      [
        'larger than 64 KB',
        { teamId: 'T0ACME', userId: 'U0ADMIN', text: 'x'.repeat(SLACK_MAX_BODY_BYTES) },
        413,
      ],
    ];
    for (const [name, command, status] of cases) {
      it(name, async () => {
        const jobs = await slackCommandJobs();
        const responses = slack.responses.length;
        const sent = await slack.sendCommand(commandsUrl, command);
        expect(sent.status).toBe(status);
        expect(await slackCommandJobs()).toBe(jobs);
        expect(slack.responses.length).toBe(responses);
      });
    }

    it('replayed within the window: acknowledged, run once', async () => {
      const first = await slack.sendCommand(commandsUrl, {
        teamId: 'T0ACME',
        userId: 'U0STRANGER',
        text: 'latest',
      });
      await answerTo(first);
      const jobs = await slackCommandJobs();
      const replay = await fetch(commandsUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)),
        },
        body: first.sentBody,
      });
      expect(replay.status).toBe(401);
      // The exact request again, signature and all.
      const again = await slack.sendCommand(commandsUrl, {
        teamId: 'T0ACME',
        userId: 'U0STRANGER',
        rawBody: first.sentBody,
        timestamp: first.timestamp,
      });
      expect(again.status).toBe(200);
      expect(again.body).toBe('');
      expect(await slackCommandJobs()).toBe(jobs);
    });
  });
});
