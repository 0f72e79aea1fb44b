import { sql as runSql } from '@provisioning/db';
import { indexPersonLinesSql } from '@provisioning/db/testing';
import { PERSON_KEY_MAX, type RunStatus } from '@provisioning/shared';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiHarness,
  apiClient,
  callerAs as callerAsIn,
  createApiHarness,
  PASSWORD,
  seedConfiguration,
  seedLog,
  seedOrganisation,
  seedRun,
  type TestOrganisation,
} from '../api-harness.test-support.ts';
import { RunChangeFeed } from '../run-change-feed.ts';

const silent = pino({ level: 'silent' });

let harness: ApiHarness;
let acme: TestOrganisation;
let other: TestOrganisation;
let feed: RunChangeFeed;
let created: string;
let updated: string;
let theirs: string;

const callerAs = (email: string) =>
  callerAsIn({ orm: harness.appOrm, changeFeed: feed, liveAccessCheckIntervalMs: 1000 }, email);

const JANE = { externalId: 'E100', email: 'jane.doe@example.com', name: 'Jane Doe' };

beforeAll(async () => {
  harness = await createApiHarness('api_people');
  acme = await seedOrganisation(harness.owner, { name: 'Acme', timeZone: 'Europe/London' });
  other = await seedOrganisation(harness.owner, { name: 'Other' });
  feed = new RunChangeFeed({
    databaseUrl: harness.database.apiUrl,
    logger: silent,
    fallbackPollIntervalMs: 500,
  });
  const configuration = await seedConfiguration(harness.owner, acme.id, 'Nightly HR file');
  const run = (organisationId: string, configurationId: string, status: RunStatus, startedAt: string) =>
    seedRun(harness.owner, { organisationId, configurationId, status, startedAt });
  created = await run(acme.id, configuration, 'success', '2026-11-30T22:30:00Z');
  await seedLog(harness.owner, created, [
    { ...JANE, rowNumber: 2, action: 'create', outcome: 'applied' },
    { externalId: 'E200', email: 'john@example.com', rowNumber: 3, action: 'create', outcome: 'applied' },
  ]);
  updated = await run(acme.id, configuration, 'needs_attention', '2026-12-01T22:30:00Z');
  await seedLog(harness.owner, updated, [
    {
      ...JANE,
      rowNumber: 2,
      action: 'update',
      outcome: 'warning',
      changes: { department: { before: 'Sales', after: 'Marketing' } },
      message: 'Manager email "x" is not a valid email address',
    },
    {
      externalId: 'E200',
      email: 'john@example.com',
      rowNumber: 3,
      action: 'unchanged',
      outcome: 'no_change',
    },
  ]);
  const othersConfiguration = await seedConfiguration(harness.owner, other.id, 'Their HR file');
  theirs = await run(other.id, othersConfiguration, 'success', '2026-12-01T23:00:00Z');
  await seedLog(harness.owner, theirs, [{ ...JANE, rowNumber: 2, action: 'create', outcome: 'applied' }]);
  await runSql(harness.owner.em.fork(), indexPersonLinesSql('select id from sync_run'));
}, 120_000);

afterAll(async () => {
  await feed?.close();
  await harness.close();
});

describe('people.history', () => {
  it('lists what the organisation’s runs did to the person, newest first, with each run', async () => {
    const caller = await callerAs(acme.accounts['people-admin']);
    const page = await caller.people.history({ query: 'JANE.DOE@example.com' });
    expect(page).toEqual({
      query: 'JANE.DOE@example.com',
      nextCursor: null,
      entries: [
        {
          run: {
            id: updated,
            queuedAt: '2026-12-01T22:29:58.000Z',
            startedAt: '2026-12-01T22:30:00.000Z',
            status: 'needs_attention',
            configurationName: 'Nightly HR file',
            connector: 'sftp',
          },
          seq: 0,
          externalId: 'e100',
          email: 'jane.doe@example.com',
          name: 'Jane Doe',
          action: 'update',
          outcome: 'warning',
          changes: { department: { before: 'Sales', after: 'Marketing' } },
          message: 'Manager email "x" is not a valid email address',
        },
        expect.objectContaining({ run: expect.objectContaining({ id: created }), action: 'create' }),
      ],
    });
  });

  it('finds by external ID too, and never a run of another organisation', async () => {
    const caller = await callerAs(acme.accounts['org-admin']);
    const page = await caller.people.history({ query: 'e100' });
    expect(page.entries.map((entry) => entry.run.id)).toEqual([updated, created]);
    const outsider = await callerAs(other.accounts['people-admin']);
    const theirPage = await outsider.people.history({ query: JANE.email });
    expect(theirPage.entries.map((entry) => entry.run.id)).toEqual([theirs]);
  });

  it('answers an unknown person with no entries, and a wildcard as a literal character', async () => {
    const caller = await callerAs(acme.accounts['people-admin']);
    for (const query of ['nobody@example.com', '%', 'jane%', '_100', '*']) {
      expect(await caller.people.history({ query }), query).toEqual({ query, entries: [], nextCursor: null });
    }
  });

  it('is FORBIDDEN to a role that may not view runs', async () => {
    const basic = await callerAs(acme.accounts['basic-user']);
    await expect(basic.people.history({ query: JANE.email })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('refuses malformed, hostile and oversized input with BAD_REQUEST', async () => {
    const caller = await callerAs(acme.accounts['people-admin']);
    for (const input of [
      { query: 'x'.repeat(10_240) },
      { query: 'x'.repeat(PERSON_KEY_MAX + 1) },
      { query: '' },
      { query: ' \t ' },
      { query: `${JANE.email}\u0000` },
      { query: 42 },
      { query: JANE.email, cursor: "' or 1=1 --" },
      { query: JANE.email, cursor: 'x'.repeat(10_000) },
      { query: JANE.email, extra: true },
    ]) {
      await expect(
        caller.people.history(input as { query: string }),
        JSON.stringify(input).slice(0, 80),
      ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    }
  });

  it('answers a query with NUL over HTTP with 400 and says why', async () => {
    const browser = apiClient(harness.appOrm, { changeFeed: feed }).browser();
    await browser.signIn(acme.accounts['people-admin'], PASSWORD);
    const { status, body } = await browser.query('people.history', { query: 'jane\u0000@example.com' });
    expect(status).toBe(400);
    expect(body.error?.message).toContain('no control characters');
  });
});
