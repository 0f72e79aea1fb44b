import type { EntityManager } from '@mikro-orm/postgresql';
import {
  type Connector,
  type FieldChanges,
  type LogAction,
  type LogOutcome,
  PERSON_HISTORY_PAGE_SIZE,
  type PersonHistoryInput,
  PersonHistoryInputSchema,
  type PersonHistoryPage,
  parseInput,
  personKey,
  type RunStatus,
} from '@provisioning/shared';
import { isUuid, readInOrganisation, type SqlRunner, sql } from './common.ts';
import { decodePageCursor, encodePageCursor, isTimestampKey } from './run-list.repository.ts';

/**
 * sync_log_person: a person's history across runs. The apply writes its rows (insertPersonIndex in the
 * sync's apply.ts, by COPY, in the apply's transaction); they go with their run, or with its log when
 * the log is purged (deletePersonIndexForRuns).
 */

/**
 * Inside the transaction that purges the logs of `runIds`: their person index rows go too, so no entry
 * points at a line that is no longer kept. Returns how many rows were deleted.
 */
export async function deletePersonIndexForRuns(db: SqlRunner, runIds: readonly string[]): Promise<number> {
  if (runIds.length === 0) return 0;
  const rows = await sql<{ deleted: number }>(
    db,
    `with deleted as (delete from sync_log_person where run_id = any(?::uuid[]) returning 1)
     select count(*)::int as deleted from deleted`,
    [runIds],
  );
  return rows[0]?.deleted ?? 0;
}

type PersonCursor = [appliedAt: string, runId: string, seq: number];

const isPersonCursor = (key: unknown[]): key is PersonCursor =>
  key.length === 3 &&
  typeof key[0] === 'string' &&
  isTimestampKey(key[0]) &&
  typeof key[1] === 'string' &&
  isUuid(key[1]) &&
  Number.isSafeInteger(key[2]) &&
  (key[2] as number) >= 0 &&
  (key[2] as number) <= 2_147_483_647;

interface HistoryRow {
  run_id: string;
  seq: number;
  applied_at_key: string;
  queued_at: Date | string;
  started_at: Date | string | null;
  status: RunStatus;
  connector: Connector;
  configuration_name: string;
  action: LogAction;
  outcome: LogOutcome;
  external_id: string | null;
  email: string | null;
  name: string | null;
  changes: FieldChanges | null;
  message: string | null;
}

const isoTime = (value: Date | string) => new Date(value).toISOString();

/**
 * The organisation's log lines that changed or skipped the person whose email or external ID is exactly
 * `query` (either case), newest apply first, keyset-paged. Each comes with its run as the runs list
 * shows it and the line's action, outcome, field changes and message.
 */
export async function listPersonHistory(
  em: EntityManager,
  organisationId: string,
  input: PersonHistoryInput,
): Promise<PersonHistoryPage> {
  const { query, cursor } = parseInput(PersonHistoryInputSchema, input, 'Person search');
  const key = personKey(query);
  const after = cursor ? decodePageCursor(cursor, isPersonCursor) : null;
  const limit = PERSON_HISTORY_PAGE_SIZE;
  // Each key's own index gives the person's rows (few: sorted here); the union merges the two (a line may
  // match both).
  const hits = (column: 'email' | 'external_id') => ({
    sql: `(select * from sync_log_person
           where organisation_id = ? and ${column} = ?
           ${after ? 'and (applied_at, run_id, seq) < (?::timestamptz, ?::uuid, ?::int)' : ''}
           order by applied_at desc, run_id desc, seq desc limit ?)`,
    params: [organisationId, key, ...(after ?? []), limit + 1],
  });
  const email = hits('email');
  const externalId = hits('external_id');

  // One round trip: the page is the whole read.
  const [rows] = await readInOrganisation<[HistoryRow[]]>(em, organisationId, [
    {
      sql: `with hit as (
         ${email.sql} union ${externalId.sql}
         order by applied_at desc, run_id desc, seq desc limit ?
       )
       select h.run_id, h.seq, h.applied_at::text as applied_at_key, r.queued_at, r.started_at, r.status,
         r.connector, c.name as configuration_name, h.email, h.external_id, h.action, h.outcome, h.name,
         h.changes, h.message
       from hit h
       join sync_run r on r.id = h.run_id
       join sync_configuration c on c.id = r.configuration_id
       order by h.applied_at desc, h.run_id desc, h.seq desc`,
      params: [...email.params, ...externalId.params, limit + 1],
    },
  ]);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    query,
    entries: page.map((row) => ({
      run: {
        id: row.run_id,
        queuedAt: isoTime(row.queued_at),
        startedAt: row.started_at === null ? null : isoTime(row.started_at),
        status: row.status,
        configurationName: row.configuration_name,
        connector: row.connector,
      },
      seq: row.seq,
      externalId: row.external_id,
      email: row.email,
      name: row.name,
      action: row.action,
      outcome: row.outcome,
      changes: row.changes,
      message: row.message,
    })),
    nextCursor:
      rows.length > limit && last ? encodePageCursor([last.applied_at_key, last.run_id, last.seq]) : null,
  };
}
