import type { Orm } from '@provisioning/db';
import { createMigratedTestOrm, type MigratedTestOrm, seedConfiguration } from '@provisioning/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogChunk } from '../logs/log-chunks.ts';
import type { LogEntry } from '../logs/log-entry.ts';
import { insertLog } from './apply.ts';
import { createTestOrganisation, queueRunRow } from './sync-fixture.test-support.ts';

let database: MigratedTestOrm;
let orm: Orm;
let organisationId: string;
let configurationId: string;

beforeAll(async () => {
  database = await createMigratedTestOrm('apply');
  orm = database.orm;
  organisationId = await createTestOrganisation(orm, 'Apply');
  configurationId = await seedConfiguration(orm, organisationId, 'HR file');
});

afterAll(async () => {
  await database?.close();
});

function appendLog(runId: string, entries: LogEntry[], copy: boolean | undefined): Promise<number> {
  return orm.em
    .getConnection()
    .getKnex()
    .transaction((trx) => insertLog(trx, runId, entries, { copy }));
}

async function runWithLog(
  entries: LogEntry[],
  copy?: boolean,
): Promise<{ runId: string; stored: LogEntry[] }> {
  const runId = await queueRunRow(orm, organisationId, configurationId);
  await orm.em.getConnection().execute(`update sync_run set status = 'cancelled' where id = ?`, [runId]);
  await appendLog(runId, entries, copy);
  const stored = await orm.em.getConnection().execute<(LogEntry & { seq: number })[]>(
    `select seq, row_number as "rowNumber", external_id as "externalId", email, name, action, outcome, changes,
       message, hint
     from sync_log where run_id = ? order by seq`,
    [runId],
  );
  return { runId, stored };
}

/** A plain result-log line for source row `rowNumber`. */
const line = (rowNumber: number): LogEntry => ({
  rowNumber,
  externalId: null,
  email: null,
  name: null,
  action: 'create',
  outcome: 'applied',
  changes: null,
  message: null,
});

// COPY where the database takes it; an insert per chunk on the embedded database, or when asked.
describe.each([
  ['as the database takes it', undefined],
  ['by an insert per chunk', false],
])('insertLog %s', (_name, copy) => {
  it('stores every character a source can hold exactly, however COPY would read it', async () => {
    const hostile = [
      'tab\there',
      'line\nbreak',
      'carriage\r\nreturn',
      'back\\slash',
      '\\N',
      '\\.',
      'end\\',
      '',
      'say "hi"',
      '\\ud800 typed out',
      '\\\\ud800',
      'emoji 😀 and \u2028',
    ];
    const entries: LogEntry[] = hostile.map((text, index) => ({
      rowNumber: index + 2,
      externalId: text,
      email: `${text}@example.com`,
      name: `Zoë ${text} 李`,
      action: 'update',
      outcome: 'warning',
      changes: { job_title: { before: text, after: `${text}\u0001` } },
      message: text,
      hint: text === '' ? null : text,
    }));
    entries.push({
      rowNumber: null,
      externalId: null,
      email: null,
      name: null,
      action: 'deactivate',
      outcome: 'applied',
      changes: null,
      message: null,
      hint: null,
    });
    const { stored } = await runWithLog(entries, copy);
    expect(stored).toEqual(entries.map((entry, index) => ({ ...entry, seq: index + 1 })));
  });

  it('stores a lone UTF-16 half as U+FFFD, as UTF-8 text would, and keeps the rest of the line', async () => {
    const { stored } = await runWithLog(
      [{ ...line(2), name: 'A\ud800B \\\udc00', message: 'pair 😀 \ud83d' }],
      copy,
    );
    expect(stored).toMatchObject([{ name: 'A\ufffdB \\\ufffd', message: 'pair 😀 \ufffd' }]);
  });

  it('stores a thousand lines to a chunk, seqs running on from the last chunk', async () => {
    const lines = Array.from({ length: 2_500 }, (_, index) => line(index + 2));
    const { runId, stored } = await runWithLog(lines, copy);
    await appendLog(runId, [line(9)], copy);
    const chunks = await orm.em
      .getConnection()
      .execute<{ first_seq: number; last_seq: number; lines: string }[]>(
        'select first_seq, last_seq, lines::text as lines from sync_log_chunk where run_id = ? order by first_seq',
        [runId],
      );
    expect(chunks.map(({ first_seq, last_seq }) => [first_seq, last_seq])).toEqual([
      [1, 1000],
      [1001, 2000],
      [2001, 2500],
      [2501, 2501],
    ]);
    // The export's reading of the chunks and the view's agree, line for line.
    const read = chunks.flatMap((chunk) => readLogChunk(chunk.lines));
    expect(read.slice(0, 2_500)).toEqual(stored);
    expect(read[2_500]).toMatchObject({ seq: 2501, rowNumber: 9 });
  });

  it('numbers a second batch after the first', async () => {
    const { runId } = await runWithLog([line(2), line(3)], copy);
    await appendLog(runId, [line(4)], copy);
    const rows = await orm.em
      .getConnection()
      .execute<{ seq: number; row_number: number }[]>(
        'select seq, row_number from sync_log where run_id = ? order by seq',
        [runId],
      );
    expect(rows).toEqual([
      { seq: 1, row_number: 2 },
      { seq: 2, row_number: 3 },
      { seq: 3, row_number: 4 },
    ]);
  });

  it('refuses a log for a run that does not exist and writes nothing', async () => {
    const knex = orm.em.getConnection().getKnex();
    await expect(
      knex.transaction((trx) => insertLog(trx, '00000000-0000-4000-8000-0000000000ff', [line(2)], { copy })),
    ).rejects.toMatchObject({ code: '23503' });
  });
});
