import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deletePersonIndexForRuns,
  generateSecretKey,
  listPersonHistory,
  type Orm,
  parseSecretKey,
} from '@provisioning/db';
import { createMigratedTestOrm, type MigratedTestOrm } from '@provisioning/db/testing';
import {
  DomainError,
  PERSON_HISTORY_PAGE_SIZE,
  PERSON_KEY_MAX,
  type PersonHistoryInput,
} from '@provisioning/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTabularFile } from '../files/file-reader.ts';
import { runSync } from './run-sync.ts';
import {
  createTestOrganisation,
  createUnfetchedConfiguration,
  queueRunRow,
} from './sync-fixture.test-support.ts';

type Row = {
  id: string;
  email: string;
  first?: string;
  last?: string;
  department?: string;
  manager?: string;
};

let database: MigratedTestOrm;
let orm: Orm;
let dir: string;
const secretKey = parseSecretKey(generateSecretKey());
let files = 0;

beforeAll(async () => {
  database = await createMigratedTestOrm('person_index');
  orm = database.orm;
  dir = mkdtempSync(join(tmpdir(), 'person-index-'));
});

afterAll(async () => {
  await database?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  return orm.em.getConnection().execute<T[]>(text, params);
}

/** An organisation with one configuration, fed from CSV files the test writes. */
async function newOrganisation(name: string) {
  const organisationId = await createTestOrganisation(orm, name);
  const configurationId = await createUnfetchedConfiguration(orm, organisationId, secretKey, {
    name: `${name} HR`,
  });
  return { organisationId, configurationId };
}

/** One run of the configuration over `rows`, as the worker runs it. */
async function sync(
  target: { organisationId: string; configurationId: string },
  rows: Row[],
  copy?: boolean,
): Promise<string> {
  const path = join(dir, `source-${++files}.csv`);
  const lines = rows.map((row) =>
    [
      row.id,
      row.email,
      row.first ?? 'Jane',
      row.last ?? 'Doe',
      row.department ?? 'Sales',
      row.manager ?? '',
    ].join(','),
  );
  writeFileSync(
    path,
    ['employee_id,email,first_name,last_name,department,manager_email', ...lines].join('\n'),
  );
  const runId = await queueRunRow(orm, target.organisationId, target.configurationId);
  const result = await runSync(runId, {
    orm,
    secretKey,
    copy,
    load: () => openTabularFile(path, { maxRows: 1000 }, path),
  });
  expect(result).toMatchObject({ status: expect.stringMatching(/^(success|needs_attention)$/) });
  return runId;
}

/** The run's rows in the person index table itself. */
async function indexRows(runId: string) {
  return sql<{ seq: number; email: string | null; external_id: string | null }>(
    'select seq, email, external_id from sync_log_person where run_id = ? order by seq',
    [runId],
  );
}

/** The run's history entries, as the history reads them: index rows and creates kept on user rows. */
async function entryRows(runId: string) {
  return sql<{ seq: number; email: string | null; external_id: string | null; action: string; name: string }>(
    'select seq, email, external_id, action, name from sync_log_person_entry where run_id = ? order by seq',
    [runId],
  );
}

function history(organisationId: string, input: PersonHistoryInput) {
  return listPersonHistory(orm.em.fork(), organisationId, input);
}

const JANE: Row = { id: 'E-Jane-1', email: 'Jane.Doe@Example.com' };
const JOHN: Row = { id: 'E-John-2', email: 'john.roe@example.com', first: 'John', last: 'Roe' };
const ANN: Row = { id: 'E-Ann-3', email: 'ann.poe@example.com', first: 'Ann', last: 'Poe' };

// COPY where the database takes it; an insert per 20k rows on the embedded database, or when asked.
describe.each([
  ['by COPY', undefined],
  ['by insert', false],
])('the person index written %s', (_name, copy) => {
  it('keeps each clean create on the new user’s row, read by lower-cased email and external ID; an unchanged rerun indexes nothing', async () => {
    const acme = await newOrganisation(`Acme ${_name}`);
    const first = await sync(acme, [JANE, JOHN], copy);
    expect(await indexRows(first)).toEqual([]);
    expect(await entryRows(first)).toEqual([
      { seq: 1, email: 'jane.doe@example.com', external_id: 'e-jane-1', action: 'create', name: 'Jane Doe' },
      { seq: 2, email: 'john.roe@example.com', external_id: 'e-john-2', action: 'create', name: 'John Roe' },
    ]);
    expect(
      await sql('select created_seq from directory_user where created_run_id = ? order by created_seq', [
        first,
      ]),
    ).toEqual([{ created_seq: 1 }, { created_seq: 2 }]);

    const rerun = await sync(acme, [JANE, JOHN], copy);
    expect(await entryRows(rerun)).toEqual([]);
  });

  it('indexes a create with warnings as a row of its own, with its message', async () => {
    const acme = await newOrganisation(`Warned ${_name}`);
    const runId = await sync(acme, [{ ...JANE, manager: 'nobody@example.com' }], copy);
    expect(await indexRows(runId)).toEqual([
      { seq: 1, email: 'jane.doe@example.com', external_id: 'e-jane-1' },
    ]);
    expect(
      await sql('select created_run_id from directory_user where organisation_id = ?', [acme.organisationId]),
    ).toEqual([{ created_run_id: null }]);
    const page = await history(acme.organisationId, { query: JANE.email });
    expect(page.entries).toEqual([
      expect.objectContaining({
        action: 'create',
        outcome: 'warning',
        message: expect.stringContaining('nobody@example.com'),
      }),
    ]);
  });

  it('indexes updates, deactivations and skipped rows, and not the unchanged ones beside them', async () => {
    const acme = await newOrganisation(`Beta ${_name}`);
    await sync(acme, [JANE, JOHN, ANN], copy);
    const second = await sync(
      acme,
      [
        { ...JANE, department: 'Marketing' },
        ANN,
        { id: 'E-Bad-4', email: 'not-an-email', first: 'Bad', last: 'Row' },
      ],
      copy,
    );
    const lines = await sql<{ seq: number; action: string }>(
      'select seq, action from sync_log where run_id = ? order by seq',
      [second],
    );
    const indexed = new Set((await indexRows(second)).map((row) => row.seq));
    expect(lines.map((line) => [line.action, indexed.has(line.seq)])).toEqual([
      ['update', true],
      ['unchanged', false],
      ['skip', true],
      ['deactivate', true],
    ]);
    expect((await indexRows(second)).find((row) => row.external_id === 'e-bad-4')).toMatchObject({
      email: 'not-an-email',
    });
  });
});

describe('a person’s history', () => {
  let acme: { organisationId: string; configurationId: string };
  let runs: string[];

  beforeAll(async () => {
    acme = await newOrganisation('Gamma');
    runs = [await sync(acme, [JANE, JOHN])];
    runs.push(await sync(acme, [{ ...JANE, department: 'Marketing' }, JOHN]));
    runs.push(await sync(acme, [JOHN]));
  });

  it('lists the lines that changed the person, newest first, with the run, the action and the changes', async () => {
    const page = await history(acme.organisationId, { query: '  jane.doe@example.com ' });
    expect(page.query).toBe('jane.doe@example.com');
    expect(page.nextCursor).toBeNull();
    expect(page.entries.map((entry) => [entry.run.id, entry.action, entry.outcome])).toEqual([
      [runs[2], 'deactivate', 'applied'],
      [runs[1], 'update', 'applied'],
      [runs[0], 'create', 'applied'],
    ]);
    expect(page.entries[1]).toMatchObject({
      email: 'jane.doe@example.com',
      externalId: 'e-jane-1',
      name: 'Jane Doe',
      changes: { department: { before: 'Sales', after: 'Marketing' } },
      run: { configurationName: 'Gamma HR', connector: 'sftp', status: 'success' },
    });
    expect(page.entries[1]?.run.startedAt).toEqual(expect.any(String));
  });

  it('finds the person by external ID or email in any case, and no one by part of either', async () => {
    const byId = await history(acme.organisationId, { query: 'e-JANE-1' });
    const byEmail = await history(acme.organisationId, { query: 'JANE.DOE@EXAMPLE.COM' });
    expect(byId.entries.map((entry) => entry.run.id)).toEqual([runs[2], runs[1], runs[0]]);
    expect(byEmail.entries).toEqual(byId.entries);
    for (const query of ['jane', 'jane.doe@example.co', '%jane%', 'jane.doe@example.co_', '*', 'E-Jane-*']) {
      expect((await history(acme.organisationId, { query })).entries, query).toEqual([]);
    }
  });

  it('shows another organisation none of these lines, and this one none of its own', async () => {
    const other = await newOrganisation('Delta');
    const theirs = await sync(other, [JANE]);
    const ours = await history(acme.organisationId, { query: JANE.email });
    expect(ours.entries.map((entry) => entry.run.id)).not.toContain(theirs);
    const page = await history(other.organisationId, { query: JANE.email });
    expect(page.entries.map((entry) => entry.run.id)).toEqual([theirs]);
  });

  it.each([
    ['10 KB', 'x'.repeat(10_240), `at most ${PERSON_KEY_MAX} characters`],
    ['one character too long', 'x'.repeat(PERSON_KEY_MAX + 1), `at most ${PERSON_KEY_MAX} characters`],
    ['blank', '   ', 'Enter an email or external ID'],
    ['with NUL', 'jane.doe@example.com\u0000', 'no control characters'],
    ['with a line break', 'jane\ndoe', 'no control characters'],
  ])('refuses a query %s with a clear message', async (_name, query, message) => {
    const refused = history(acme.organisationId, { query });
    await expect(refused).rejects.toBeInstanceOf(DomainError);
    await expect(refused).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringContaining(message),
    });
  });

  it.each([
    ['not base64 JSON', 'not-a-cursor'],
    [
      'an impossible time',
      Buffer.from(JSON.stringify(['2026-02-30 10:00:00+00', runIdLike(), 1])).toString('base64url'),
    ],
    [
      'a seq out of range',
      Buffer.from(JSON.stringify(['2026-02-03 10:00:00+00', runIdLike(), 2 ** 40])).toString('base64url'),
    ],
  ])('refuses a page cursor that is %s', async (_name, cursor) => {
    await expect(history(acme.organisationId, { query: JANE.email, cursor })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringContaining('The page cursor is not valid'),
    });
  });

  it('drops the index rows of runs whose logs are purged, and of deleted runs, leaving the others', async () => {
    const zeta = await newOrganisation('Zeta');
    const kept = await sync(zeta, [ANN]);
    const purged = await sync(zeta, [{ ...ANN, department: 'Support' }]);
    const deleted = await sync(zeta, [{ ...ANN, department: 'Legal' }]);
    const knex = orm.em.getConnection().getKnex();
    expect(await knex.transaction((trx) => deletePersonIndexForRuns(trx, [purged]))).toBe(1);
    await sql('delete from sync_run where id = ?', [deleted]);
    const page = await history(zeta.organisationId, { query: ANN.id });
    expect(page.entries.map((entry) => entry.run.id)).toEqual([kept]);
    expect(await deletePersonIndexForRuns(orm.em.fork(), [])).toBe(0);
  });
});

describe('pages of a person’s history', () => {
  it('pages through every entry once, newest first', async () => {
    const eta = await newOrganisation('Eta');
    const runs: string[] = [];
    for (let i = 0; i <= PERSON_HISTORY_PAGE_SIZE; i++) {
      runs.push(await sync(eta, [{ ...JOHN, department: `Team ${i}` }]));
    }
    const first = await history(eta.organisationId, { query: JOHN.email });
    expect(first.entries).toHaveLength(PERSON_HISTORY_PAGE_SIZE);
    expect(first.nextCursor).not.toBeNull();
    const second = await history(eta.organisationId, { query: JOHN.email, cursor: first.nextCursor });
    expect(second.nextCursor).toBeNull();
    expect([...first.entries, ...second.entries].map((entry) => entry.run.id)).toEqual(runs.reverse());
  });
});

it('leaves out of the index a key too long to search for, and keeps the other', async () => {
  const theta = await newOrganisation('Theta');
  const long = `${'a'.repeat(PERSON_KEY_MAX)}@example.com`;
  await sync(theta, [{ id: 'E-Long-1', email: long }]);
  const runId = await sync(theta, [{ id: 'E-Long-1', email: long, department: 'Support' }]);
  expect(await indexRows(runId)).toEqual([{ seq: 1, email: null, external_id: 'e-long-1' }]);
});

describe('a create kept on the user row', () => {
  it('is written to the index as it was before an update changes the name, email or external ID', async () => {
    const iota = await newOrganisation('Iota');
    const created = await sync(iota, [JANE, JOHN]);
    // A department change keeps the create on the row.
    await sync(iota, [{ ...JANE, department: 'Legal' }, JOHN]);
    expect(await indexRows(created)).toEqual([]);

    const renamed = await sync(iota, [
      { ...JANE, department: 'Legal', last: 'Smith' },
      { ...JOHN, email: 'john.roe2@example.com' },
    ]);
    expect(await indexRows(created)).toEqual([
      { seq: 1, email: 'jane.doe@example.com', external_id: 'e-jane-1' },
      { seq: 2, email: 'john.roe@example.com', external_id: 'e-john-2' },
    ]);
    expect(
      await sql(
        'select count(*)::int as n from directory_user where organisation_id = ? and created_run_id is not null',
        [iota.organisationId],
      ),
    ).toEqual([{ n: 0 }]);

    const jane = await history(iota.organisationId, { query: JANE.id });
    expect(jane.entries.map((entry) => [entry.run.id, entry.action, entry.name])).toEqual([
      [renamed, 'update', 'Jane Smith'],
      [expect.any(String), 'update', 'Jane Doe'],
      [created, 'create', 'Jane Doe'],
    ]);
    // The old email still finds the create; the new one the update that gave it.
    const oldEmail = await history(iota.organisationId, { query: JOHN.email });
    expect(oldEmail.entries.map((entry) => [entry.run.id, entry.action])).toEqual([[created, 'create']]);
    const newEmail = await history(iota.organisationId, { query: 'john.roe2@example.com' });
    expect(newEmail.entries.map((entry) => [entry.run.id, entry.action])).toEqual([[renamed, 'update']]);
  });

  it('is hidden when its run’s log is purged or its run deleted, and not written to the index then', async () => {
    const kappa = await newOrganisation('Kappa');
    const purged = await sync(kappa, [JANE]);
    await sql('update sync_run set log_purged_at = now(), log_purge_retention_days = 90 where id = ?', [
      purged,
    ]);
    expect((await history(kappa.organisationId, { query: JANE.email })).entries).toEqual([]);
    const renamed = await sync(kappa, [{ ...JANE, first: 'Janet' }]);
    expect(await indexRows(purged)).toEqual([]);
    expect(
      (await history(kappa.organisationId, { query: JANE.email })).entries.map((entry) => entry.run.id),
    ).toEqual([renamed]);

    const lambda = await newOrganisation('Lambda');
    const deleted = await sync(lambda, [JOHN]);
    expect((await history(lambda.organisationId, { query: JOHN.email })).entries).toHaveLength(1);
    await sql('delete from sync_run where id = ?', [deleted]);
    expect((await history(lambda.organisationId, { query: JOHN.email })).entries).toEqual([]);
  });
});

function runIdLike(): string {
  return '00000000-0000-4000-8000-000000000001';
}
