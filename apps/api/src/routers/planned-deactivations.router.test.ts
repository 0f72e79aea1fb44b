import { type Orm, sql as runSql } from '@provisioning/db';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiHarness,
  callerAs as callerAsIn,
  createApiHarness,
  seedConfiguration,
  seedOrganisation,
  seedRun,
  type TestOrganisation,
} from '../api-harness.test-support.ts';
import { RunChangeFeed } from '../run-change-feed.ts';
import { appRouter } from '../trpc/router.ts';
import { createCallerFactory } from '../trpc/trpc.ts';

const silent = pino({ level: 'silent' });
const _createCaller = createCallerFactory(appRouter);

let harness: ApiHarness;
let acme: TestOrganisation;
let other: TestOrganisation;
let feed: RunChangeFeed;
let blockedRun: string;
let approvedRun: string;
let userIds: string[];

const callerAs = (email: string) =>
  callerAsIn({ orm: harness.appOrm, changeFeed: feed, liveAccessCheckIntervalMs: 1000 }, email);

/** Directory users of an organisation, named after their number; returns their IDs in number order. */
async function seedUsers(
  owner: Orm,
  organisationId: string,
  count: number,
  prefix: string,
): Promise<string[]> {
  const rows = await owner.em.getConnection().execute<{ id: string }[]>(
    `insert into directory_user (id, organisation_id, external_id, email, first_name, last_name, status, created_at, updated_at)
     select gen_random_uuid(), ?, 'E' || lpad(g::text, 4, '0'), ? || g || '@example.com', 'First' || g, 'Last' || g,
       'active', now(), now()
     from generate_series(1, ?) g order by g returning id`,
    [organisationId, prefix, count],
  );
  return rows.map((row) => row.id);
}

beforeAll(async () => {
  harness = await createApiHarness('api_planned_deactivations');
  acme = await seedOrganisation(harness.owner, { name: 'Acme' });
  other = await seedOrganisation(harness.owner, { name: 'Other' });
  feed = new RunChangeFeed({
    databaseUrl: harness.database.apiUrl,
    logger: silent,
    fallbackPollIntervalMs: 500,
  });
  const configuration = await seedConfiguration(harness.owner, acme.id, 'Nightly HR file');
  blockedRun = await seedRun(harness.owner, {
    organisationId: acme.id,
    configurationId: configuration,
    status: 'above_deactivation_threshold',
    startedAt: new Date(Date.now() - 60_000),
    errorSummary: 'The sync would deactivate 120 of 200 active users it manages.',
    thresholdDetails: {
      plannedDeactivations: 120,
      activeManagedUsers: 200,
      thresholdCount: 500,
      thresholdPercent: 20,
      sample: [],
    },
  });
  userIds = await seedUsers(harness.owner, acme.id, 120, 'leaver.');
  const [othersUser] = await seedUsers(harness.owner, other.id, 1, 'other.');
  const sql = (text: string, params: unknown[]) => runSql(harness.owner.em.fork(), text, params);
  await sql('insert into sync_run_blocked_user (run_id, user_id) select ?, unnest(?::uuid[])', [
    blockedRun,
    [...userIds, othersUser],
  ]);
  // One of them has left the directory since the run was blocked.
  await sql('delete from directory_user where id = ?', [userIds[7]]);
  const [approval] = await sql(
    `insert into sync_run_approval (id, blocked_run_id, approved_by, reason, approved_at, expires_at)
     values (gen_random_uuid(), ?, 'Sam Support', 'HR confirmed the leavers', '2026-12-01T09:00:00Z', '2026-12-02T09:00:00Z')
     returning id`,
    [blockedRun],
  );
  const [run] = await sql(
    `insert into sync_run (id, organisation_id, configuration_id, status, trigger, queued_at, approval_id)
     values (gen_random_uuid(), ?, ?, 'queued', 'approval', now(), ?) returning id`,
    [acme.id, configuration, (approval as { id: string }).id],
  );
  approvedRun = (run as { id: string }).id;
}, 120_000);

afterAll(async () => {
  await feed?.close();
  await harness.close();
});

describe('runs.plannedDeactivations', () => {
  it('lists every user a blocked run would have deactivated, a page at a time, with who they are', async () => {
    const caller = await callerAs(acme.accounts['people-admin']);
    const seen: Awaited<ReturnType<typeof caller.runs.plannedDeactivations>>['users'] = [];
    let cursor: string | null = null;
    const pages: number[] = [];
    do {
      const page: Awaited<ReturnType<typeof caller.runs.plannedDeactivations>> =
        await caller.runs.plannedDeactivations({ runId: blockedRun, cursor });
      pages.push(page.users.length);
      seen.push(...page.users);
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(pages).toEqual([50, 50, 21]);
    expect(new Set(seen.map((user) => user.userId)).size).toBe(121);
    const first = seen.find((user) => user.userId === userIds[0]);
    expect(first).toEqual({
      userId: userIds[0],
      name: 'First1 Last1',
      email: 'leaver.1@example.com',
      externalId: 'E0001',
    });
    // Left the directory since, or (whatever the stored IDs say) another organisation's: no one to name.
    const unnamed = seen.filter((user) => user.email === null);
    expect(unnamed).toHaveLength(2);
    expect(unnamed.every((user) => user.name === null && user.externalId === null)).toBe(true);
  });

  it('shows the approval on the blocked run, and on the run it queued', async () => {
    const caller = await callerAs(acme.accounts['org-admin']);
    const approval = {
      blockedRunId: blockedRun,
      approvedBy: 'Sam Support',
      reason: 'HR confirmed the leavers',
      approvedAt: '2026-12-01T09:00:00.000Z',
      expiresAt: '2026-12-02T09:00:00.000Z',
      usedByRunId: null,
      outcome: null,
    };
    expect(await caller.runs.get({ runId: blockedRun })).toMatchObject({ approval, triggerApproval: null });
    expect(await caller.runs.get({ runId: approvedRun })).toMatchObject({
      trigger: 'approval',
      approval: null,
      triggerApproval: approval,
    });
  });

  it('answers NOT_FOUND for another organisation’s run and FORBIDDEN to a role that may not view runs', async () => {
    const outsider = await callerAs(other.accounts['people-admin']);
    await expect(outsider.runs.plannedDeactivations({ runId: blockedRun })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    const basic = await callerAs(acme.accounts['basic-user']);
    await expect(basic.runs.plannedDeactivations({ runId: blockedRun })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it('refuses malformed, hostile and oversized input with BAD_REQUEST', async () => {
    const caller = await callerAs(acme.accounts['people-admin']);
    for (const input of [
      { runId: 'not-a-run' },
      { runId: `${blockedRun}\u0000` },
      { runId: blockedRun, cursor: "' or 1=1 --" },
      { runId: blockedRun, cursor: 'x'.repeat(10_000) },
      { runId: blockedRun, limit: 10_000 },
      { runId: blockedRun, limit: 0 },
      { runId: blockedRun, extra: true },
    ]) {
      await expect(
        caller.runs.plannedDeactivations(input as { runId: string }),
        JSON.stringify(input).slice(0, 80),
      ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    }
  });
});
