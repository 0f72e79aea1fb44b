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
import { isoTime, isUuid, readInOrganisation, type SqlRunner, sql } from './common.ts';
import { decodePageCursor, encodePageCursor, isTimestampKey } from './run-list.repository.ts';

/**
 * A person's history across runs, read through person_history_entries from sync_log_person_entry: the
 * rows of sync_log_person, which the apply writes (insertPersonIndex in the sync's apply.ts, by COPY, in
 * the apply's transaction), and the clean creates the new user rows keep (see the person_history_creates
 * migration). Both go with their run, or with its log when the log is purged (deletePersonIndexForRuns;
 * the view hides the creates of a run whose log is purged).
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
  // The person's entries by either key, through their indexes (person_history_entries: the organisation
  // the transaction names only); a person has few, sorted here.
  const [rows] = await readInOrganisation<[HistoryRow[]]>(em, organisationId, [
    {
      sql: `with hit as (
         select * from person_history_entries(?)
         ${after ? 'where (applied_at, run_id, seq) < (?::timestamptz, ?::uuid, ?::int)' : ''}
         order by applied_at desc, run_id desc, seq desc limit ?
       )
       select h.run_id, h.seq, h.applied_at::text as applied_at_key, r.queued_at, r.started_at, r.status,
         r.connector, c.name as configuration_name, h.email, h.external_id, h.action, h.outcome, h.name,
         h.changes, h.message
       from hit h
       join sync_run r on r.id = h.run_id
       join sync_configuration c on c.id = r.configuration_id
       order by h.applied_at desc, h.run_id desc, h.seq desc`,
      params: [key, ...(after ?? []), limit + 1],
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
