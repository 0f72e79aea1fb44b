import { randomBytes } from 'node:crypto';
import { finishApplied, finishCancelled, finishUnapplied, type Orm, sql } from '@provisioning/db';
import {
  createMigratedTestOrm,
  type MigratedTestOrm,
  seedConfiguration,
  seedOrganisation,
  seedRun,
  seedSlackInstallation,
} from '@provisioning/db/testing';
import type { RunStatus, SlackNotifyPolicy } from '@provisioning/shared';
import { type FakeSlack, startSlackServer } from '@provisioning/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CIRCUIT_MESSAGE_EVENT } from './circuit-message.blocks.ts';
import { NOTIFICATION_MAX_ATTEMPTS, notifyRun, SlackUnavailableError } from './notify-run.ts';
import { RUN_MESSAGE_EVENT } from './run-message.blocks.ts';

const secretKey = randomBytes(32);
const PUBLIC_WEB_URL = 'https://admin.acme.example';
let database: MigratedTestOrm;
let orm: Orm;
let slack: FakeSlack;
let teams = 0;

/** The workspaces each test's organisation connects, one team each. */
const SLACK_TEAMS = {
  teams: Array.from({ length: 20 }, (_, index) => ({
    id: `T${index + 1}`,
    token: `xoxb-team-${index + 1}`,
    channels: ['C0RUNS'],
  })),
};

beforeAll(async () => {
  database = await createMigratedTestOrm('slack_notify');
  orm = database.orm;
  slack = await startSlackServer(SLACK_TEAMS);
});

afterAll(async () => {
  await slack?.stop();
  await database?.close();
});

interface Workspace {
  organisationId: string;
  configurationId: string;
  teamId: string;
}

/** An organisation with a configuration and, unless told otherwise, a connected workspace of its own. */
async function workspace({
  policy = 'failures-and-recovery' as SlackNotifyPolicy,
  connected = true,
  timeZone = 'Europe/London',
} = {}): Promise<Workspace> {
  teams += 1;
  const organisation = await seedOrganisation(orm, { name: `Org ${teams}`, roles: [], timeZone });
  const configurationId = await seedConfiguration(orm, organisation.id, 'HR export (SFTP)');
  const teamId = `T${teams}`;
  if (connected) {
    await seedSlackInstallation(orm, secretKey, {
      organisationId: organisation.id,
      teamId,
      botToken: `xoxb-team-${teams}`,
      notify: policy,
    });
  }
  return { organisationId: organisation.id, configurationId, teamId };
}

const progress = { read: 10, planned: 10, applied: 10 };
const counts = {
  created: 3,
  updated: 2,
  reactivated: 0,
  deactivated: 1,
  unchanged: 4,
  skipped: 0,
  warnings: 0,
  errors: 0,
};

/** A run that finishes as `status` through the run ledger, as the worker would finish it. */
async function finishedRun(
  ws: Workspace,
  status: RunStatus,
  errorSummary = 'The file /outbound/hr.csv was not found; ask jane.doe@acme.example',
): Promise<string> {
  const runId = await seedRun(orm, {
    organisationId: ws.organisationId,
    configurationId: ws.configurationId,
    status: 'in_progress',
    startedAt: new Date(Date.now() - 4000),
  });
  await sql(orm.em.fork(), 'update sync_run set attempt = 1 where id = ?', [runId]);
  const knex = orm.em.getConnection().getKnex();
  const run = { runId, attempt: 1 };
  if (status === 'success' || status === 'needs_attention') {
    await knex.transaction((trx) =>
      finishApplied(trx, run, {
        status,
        counts: { ...counts, warnings: status === 'success' ? 0 : 2 },
        progress,
      }),
    );
  } else if (status === 'data_load_failed' || status === 'above_deactivation_threshold') {
    await knex.transaction((trx) =>
      finishUnapplied(trx, run, {
        status,
        errorSummary,
        errors: 1,
        progress,
        ...(status === 'above_deactivation_threshold'
          ? {
              thresholdDetails: {
                plannedDeactivations: 600,
                activeManagedUsers: 1000,
                thresholdCount: 500,
                thresholdPercent: 20,
                sample: [{ externalId: 'E-1', email: 'jane.doe@acme.example' }],
              },
            }
          : {}),
      }),
    );
  } else {
    await finishCancelled(orm.em.fork(), runId, 1, 'Cancelled by support');
  }
  // A start the expected fields can name.
  await sql(
    orm.em.fork(),
    `update sync_run set started_at = '2024-01-15T22:30:00Z', duration_ms = 4000 where id = ?`,
    [runId],
  );
  return runId;
}

const notify = (runId: string) =>
  notifyRun(runId, { orm, secretKey, apiUrl: slack.apiUrl, publicWebUrl: PUBLIC_WEB_URL });

function messagesOf(runId: string) {
  return slack.messages.filter((message) => message.metadata?.event_payload.run_id === runId);
}

async function notificationOf(runId: string) {
  const [row] = await sql<{ state: string; last_error: string | null; message_ts: string | null }>(
    orm.em.fork(),
    'select state, last_error, message_ts from run_notification where run_id = ?',
    [runId],
  );
  return row;
}

describe('notifyRun', () => {
  it('posts a Needs Attention run once, with its header, fields, counts, metadata and buttons', async () => {
    const ws = await workspace();
    const runId = await finishedRun(ws, 'needs_attention');
    const outcome = await notify(runId);
    expect(outcome).toMatchObject({ kind: 'sent', channelId: 'C0RUNS', recovered: false });
    expect(await notify(runId)).toEqual({ kind: 'done' });
    const [message, ...others] = messagesOf(runId);
    expect(others).toEqual([]);
    expect(message!.channel).toBe('C0RUNS');
    expect(message!.metadata).toEqual({ event_type: RUN_MESSAGE_EVENT, event_payload: { run_id: runId } });
    const blocks = message!.blocks!;
    expect(blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: ':warning: Needs Attention · HR export (SFTP)', emoji: true },
    });
    const fields = (blocks[1] as { fields: { text: string }[] }).fields.map((field) => field.text);
    expect(fields).toEqual([
      '*Source*\nSFTP Sync',
      '*Started*\n15 Jan 2024, 10:30 pm (Europe/London)',
      '*Duration*\n4s',
      '*Trigger*\nSchedule',
    ]);
    expect(JSON.stringify(blocks)).toContain(
      'Created *3* · Updated *2* · Deactivated *1* · Unchanged *4* · Warnings *2*',
    );
    const actions = blocks.at(-1) as { elements: { text: { text: string }; url?: string; value?: string }[] };
    expect(actions.elements.map((button) => button.text.text)).toEqual([
      'Open run',
      'Download CSV',
      'Download Excel',
    ]);
    expect(actions.elements[0]!.url).toBe(`${PUBLIC_WEB_URL}/provisioning?run=${runId}`);
    expect(actions.elements[1]!.value).toBe(`${runId} csv`);
    expect(message!.text).toContain('Needs Attention: HR export (SFTP)');
    expect(await notificationOf(runId)).toMatchObject({ state: 'sent', message_ts: message!.ts });
  });

  it('posts a Data Load Failed run with its error summary, emails masked, at most 300 characters', async () => {
    const ws = await workspace();
    const runId = await finishedRun(
      ws,
      'data_load_failed',
      `Ask jane.doe@acme.example <admin> & co. ${'x'.repeat(400)}`,
    );
    await notify(runId);
    const [message] = messagesOf(runId);
    const summary = JSON.stringify(message!.blocks);
    expect(summary).toContain(':x: Data Load Failed');
    expect(summary).toContain('Ask •••@acme.example &lt;admin&gt; &amp; co.');
    expect(summary).not.toContain('jane.doe');
    const section = message!.blocks!.find((block) => JSON.stringify(block).includes('What happened')) as {
      text: { text: string };
    };
    expect(section.text.text.length).toBeLessThanOrEqual('*What happened*\n'.length + 300 + 20);
    expect(JSON.stringify(message!.blocks)).toContain('Download CSV');
  });

  it('posts the threshold figures of a blocked run, never its sample of people, and no log buttons', async () => {
    const ws = await workspace();
    const runId = await finishedRun(ws, 'above_deactivation_threshold', 'Planned 600 deactivations');
    await notify(runId);
    const [message] = messagesOf(runId);
    const text = JSON.stringify(message!.blocks);
    expect(text).toContain('*Planned deactivations:* 600 of 1,000 active managed users');
    expect(text).toContain('more than 500, or more than 20% (200)');
    expect(text).not.toContain('jane.doe');
    expect(text).not.toContain('E-1');
    expect(text).not.toContain('Download');
  });

  it('skips a first Success, posts the first Success after a failure, and skips the Success after that', async () => {
    const ws = await workspace();
    const first = await finishedRun(ws, 'success');
    expect(await notify(first)).toMatchObject({ kind: 'skipped' });
    const failed = await finishedRun(ws, 'data_load_failed');
    expect(await notify(failed)).toMatchObject({ kind: 'sent' });
    const recovered = await finishedRun(ws, 'success');
    expect(await notify(recovered)).toMatchObject({ kind: 'sent' });
    expect(JSON.stringify(messagesOf(recovered)[0]!.blocks)).toContain(':white_check_mark: Success');
    const again = await finishedRun(ws, 'success');
    expect(await notify(again)).toMatchObject({ kind: 'skipped' });
    expect(await notificationOf(again)).toMatchObject({
      state: 'skipped',
      last_error: expect.stringContaining('failures-and-recovery'),
    });
  });

  it('follows the workspace’s policy: all posts every Success, failures none', async () => {
    const all = await workspace({ policy: 'all' });
    expect(await notify(await finishedRun(all, 'success'))).toMatchObject({ kind: 'sent' });
    const failures = await workspace({ policy: 'failures' });
    await finishedRun(failures, 'cancelled');
    expect(await notify(await finishedRun(failures, 'success'))).toMatchObject({ kind: 'skipped' });
    expect(await notify(await finishedRun(failures, 'cancelled'))).toMatchObject({ kind: 'sent' });
  });

  it('skips, with the reason, a run of an organisation with no workspace connected', async () => {
    const ws = await workspace({ connected: false });
    const runId = await finishedRun(ws, 'data_load_failed');
    expect(await notify(runId)).toMatchObject({
      kind: 'skipped',
      reason: expect.stringContaining('No Slack workspace'),
    });
    expect(messagesOf(runId)).toEqual([]);
  });

  it('comes back after Slack’s Retry-After when rate limited, and posts once then', async () => {
    const ws = await workspace();
    const runId = await finishedRun(ws, 'data_load_failed');
    slack.fault({ method: 'chat.postMessage', rateLimit: { times: 1, retryAfter: 7 } });
    expect(await notify(runId)).toMatchObject({ kind: 'later', seconds: 7 });
    expect(await notificationOf(runId)).toMatchObject({ state: 'pending' });
    // Before the wait is over the notification is not taken again.
    expect(await notify(runId)).toMatchObject({ kind: 'later' });
    await sql(orm.em.fork(), 'update run_notification set retry_at = now() where run_id = ?', [runId]);
    expect(await notify(runId)).toMatchObject({ kind: 'sent' });
    expect(messagesOf(runId)).toHaveLength(1);
  });

  it('fails for good, with the reason and no retry, when the channel is gone', async () => {
    const ws = await workspace();
    const runId = await finishedRun(ws, 'data_load_failed');
    slack.fault({ method: 'chat.postMessage', error: 'channel_not_found', times: 1 });
    expect(await notify(runId)).toMatchObject({
      kind: 'failed',
      reason: expect.stringContaining('channel_not_found'),
    });
    expect(await notify(runId)).toEqual({ kind: 'done' });
    expect(await notificationOf(runId)).toMatchObject({
      state: 'failed',
      last_error: expect.stringContaining('check the channel ID'),
    });
    expect(messagesOf(runId)).toEqual([]);
  });

  it('fails for good when the token was revoked', async () => {
    const ws = await workspace();
    const runId = await finishedRun(ws, 'cancelled');
    slack.fault({ method: 'chat.postMessage', error: 'token_revoked', times: 1 });
    expect(await notify(runId)).toMatchObject({
      kind: 'failed',
      reason: expect.stringContaining('slack connect'),
    });
  });

  it('throws for the queue to retry when Slack does not answer, then finds the message it may have posted', async () => {
    const ws = await workspace();
    const runId = await finishedRun(ws, 'data_load_failed');
    slack.fault({ method: 'chat.postMessage', error: 'internal_error', times: 1 });
    await expect(notify(runId)).rejects.toBeInstanceOf(SlackUnavailableError);
    expect(await notificationOf(runId)).toMatchObject({ state: 'sending' });
    expect(await notify(runId)).toMatchObject({ kind: 'sent', recovered: false });
    expect(messagesOf(runId)).toHaveLength(1);
  });

  it('records a message posted by an attempt that died before recording it, without posting again', async () => {
    const ws = await workspace();
    const runId = await finishedRun(ws, 'data_load_failed');
    // The first attempt's post reaches Slack, then its answer never comes back (the worker dies there).
    slack.fault({ method: 'chat.postMessage', hold: true });
    const dying = notifyRun(runId, { orm, secretKey, apiUrl: slack.apiUrl, publicWebUrl: PUBLIC_WEB_URL });
    dying.catch(() => {});
    await slack.until(() => messagesOf(runId).length === 1);
    // Its lease runs out.
    await sql(orm.em.fork(), 'update run_notification set retry_at = now() where run_id = ?', [runId]);
    expect(await notify(runId)).toMatchObject({
      kind: 'sent',
      recovered: true,
      ts: messagesOf(runId)[0]!.ts,
    });
    expect(messagesOf(runId)).toHaveLength(1);
  });

  it('gives up as failed after the attempts allowed when Slack never answers', async () => {
    const ws = await workspace();
    const runId = await finishedRun(ws, 'cancelled');
    await sql(orm.em.fork(), 'update run_notification set attempts = ? where run_id = ?', [
      NOTIFICATION_MAX_ATTEMPTS,
      runId,
    ]);
    expect(await notify(runId)).toMatchObject({
      kind: 'failed',
      reason: expect.stringContaining('did not answer'),
    });
  });
});

describe('notifyRun for a circuit notification', () => {
  // A server of its own: a held post (the last test) holds every later post of its server.
  let circuitSlack: FakeSlack;
  beforeAll(async () => {
    circuitSlack = await startSlackServer(SLACK_TEAMS);
  });
  afterAll(async () => {
    await circuitSlack?.stop();
  });

  const options = () => ({ orm, secretKey, apiUrl: circuitSlack.apiUrl, publicWebUrl: PUBLIC_WEB_URL });
  const notifyCircuit = (runId: string) => notifyRun(runId, options(), 'circuit');
  const notifyOutcome = (runId: string) => notifyRun(runId, options());
  const allMessagesOf = (runId: string) =>
    circuitSlack.messages.filter((message) => message.metadata?.event_payload.run_id === runId);
  const circuitMessagesOf = (runId: string) =>
    allMessagesOf(runId).filter((message) => message.metadata?.event_type === CIRCUIT_MESSAGE_EVENT);

  it('posts the third failure in a row once: configuration, count, last error (masked), not paused yet', async () => {
    const ws = await workspace();
    for (let i = 0; i < 2; i++) {
      const earlier = await finishedRun(ws, 'data_load_failed');
      expect(await notifyCircuit(earlier)).toEqual({ kind: 'done' });
    }
    const third = await finishedRun(
      ws,
      'data_load_failed',
      'Host key mismatch for sftp.acme.example; ask jane.doe@acme.example',
    );
    expect(await notifyCircuit(third)).toMatchObject({ kind: 'sent', channelId: 'C0RUNS' });
    expect(await notifyCircuit(third)).toEqual({ kind: 'done' });
    // The run's own outcome is a message of its own.
    expect(await notifyOutcome(third)).toMatchObject({ kind: 'sent' });
    expect(allMessagesOf(third)).toHaveLength(2);

    const [message, ...others] = circuitMessagesOf(third);
    expect(others).toEqual([]);
    const blocks = JSON.stringify(message!.blocks);
    expect(message!.blocks![0]).toEqual({
      type: 'header',
      text: {
        type: 'plain_text',
        text: ':rotating_light: 3 failed runs in a row · HR export (SFTP)',
        emoji: true,
      },
    });
    expect(blocks).toContain('HR export (SFTP) (SFTP Sync) ended Data Load Failed 3 times in a row.');
    expect(blocks).toContain('*Last error*\\nHost key mismatch for sftp.acme.example; ask •••@acme.example');
    expect(blocks).toContain('Its scheduled runs continue; after 5 failures in a row they are paused.');
    expect(blocks).not.toContain('jane.doe');
    expect(blocks).toContain(`${PUBLIC_WEB_URL}/provisioning?run=${third}`);
    expect(message!.text).toContain('Failing: HR export (SFTP) ended Data Load Failed 3 times in a row.');
  });

  it('posts the fifth failure in a row as paused, saying what resumes it, whatever the policy', async () => {
    const ws = await workspace({ policy: 'failures' });
    let fifth = '';
    for (let i = 0; i < 5; i++) fifth = await finishedRun(ws, 'data_load_failed', 'The file was not found');
    expect(await notifyCircuit(fifth)).toMatchObject({ kind: 'sent' });
    const [message] = circuitMessagesOf(fifth);
    const blocks = JSON.stringify(message!.blocks);
    expect(message!.blocks![0]).toMatchObject({
      text: { text: ':rotating_light: 5 failed runs in a row, paused · HR export (SFTP)' },
    });
    expect(blocks).toContain('Its scheduled runs are paused');
    expect(blocks).toContain('config resume');
    expect(message!.text).toContain('Paused: HR export (SFTP)');
  });

  it('finds a circuit message posted by an attempt that died, without posting it again', async () => {
    const ws = await workspace();
    let third = '';
    for (let i = 0; i < 3; i++) third = await finishedRun(ws, 'data_load_failed');
    // The run's outcome is posted first, so the recovery must tell the two messages apart.
    await notifyOutcome(third);
    circuitSlack.fault({ method: 'chat.postMessage', hold: true });
    notifyCircuit(third).catch(() => {});
    await circuitSlack.until(() => circuitMessagesOf(third).length === 1);
    await sql(
      orm.em.fork(),
      `update run_notification set retry_at = now() where run_id = ? and kind = 'circuit'`,
      [third],
    );
    expect(await notifyCircuit(third)).toMatchObject({
      kind: 'sent',
      recovered: true,
      ts: circuitMessagesOf(third)[0]!.ts,
    });
    expect(circuitMessagesOf(third)).toHaveLength(1);
  });
});
