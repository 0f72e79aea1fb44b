import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  ApprovalLapsed,
  finishApplied,
  isUniqueViolation,
  lockRunForApply,
  type Orm,
  sql,
} from '@provisioning/db';
import {
  DIRECTORY_FIELD_TABLE,
  fullName,
  type LogAction,
  PERSON_HISTORY_ACTIONS,
  PERSON_KEY_MAX,
  personKey,
  type SourceFingerprint,
} from '@provisioning/shared';
import type { Knex } from 'knex';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { logChunks, withoutLoneSurrogates } from '../logs/log-chunks.ts';
import type { LogEntry } from '../logs/log-entry.ts';
import type { DirectoryRecord, DirectoryRecordField, Plan, PlannedAction, RowWarning } from './types.ts';

/** Directory columns the engine writes, in the order of the unnest() arrays below: the field table's. */
const RECORD_COLUMNS: readonly (readonly [DirectoryRecordField, string, string])[] =
  DIRECTORY_FIELD_TABLE.map((entry) => [entry.property, entry.column, entry.sqlType] as const);

/** Rows per statement: bounds the size of one query's arrays. */
const CHUNK = 20_000;

export interface ApplyInput {
  runId: string;
  attempt: number;
  organisationId: string;
  configurationId: string;
  plan: Plan;
  rowsRead: number;
  /** false: unnest() arrays even where the database takes COPY. */
  copy?: boolean | undefined;
  /** false: no person index rows (the benchmark's apply without them); runs always index. */
  personIndex?: boolean | undefined;
  /** Support's approval the run applies under: marked used by this apply, named on its deactivations. */
  approval?: { id: string; approvedBy: string } | undefined;
  /** What the run read, stored with its final status. */
  source?: SourceFingerprint | undefined;
}

export type ApplyResult =
  | { outcome: 'applied'; status: 'success' | 'needs_attention' }
  /** The run was cancelled before apply: nothing written. */
  | { outcome: 'cancelled' }
  /** Another attempt owns the run now (this worker was presumed dead): nothing written. */
  | { outcome: 'lost' }
  /** The directory changed under the plan (an email taken meanwhile): nothing written; plan again. */
  | { outcome: 'conflict' }
  /** The approval was used or expired since the run read it: nothing written; check it again. */
  | { outcome: 'approval_lapsed' };

/**
 * Writes the plan: users, the run's final status and counts, and its log, in one transaction that holds
 * the configuration's advisory lock and is fenced on the run's attempt. A crash leaves the state before or
 * after, never a mix; a stale attempt cannot commit.
 */
export async function applyPlan(orm: Orm, input: ApplyInput): Promise<ApplyResult> {
  try {
    return await applyInTransaction(orm, input);
  } catch (error) {
    // Another configuration of the organisation took an email this plan gives a user, after it was planned.
    if (isUniqueViolation(error, 'directory_user_email_ci_unique')) return { outcome: 'conflict' };
    if (error instanceof ApprovalLapsed) return { outcome: 'approval_lapsed' };
    throw error;
  }
}

async function applyInTransaction(orm: Orm, input: ApplyInput): Promise<ApplyResult> {
  const knex = orm.em.getConnection().getKnex();
  return knex.transaction(async (trx) => {
    await sql(trx, `select pg_advisory_xact_lock(hashtext('sync-configuration:' || ?))`, [
      input.configurationId,
    ]);
    // Applies of the organisation's configurations take turns: emails are unique across all of them.
    await sql(trx, `select pg_advisory_xact_lock(hashtext('sync-organisation:' || ?))`, [
      input.organisationId,
    ]);
    const fence = await lockRunForApply(trx, input);
    if (fence === 'lost') return { outcome: 'lost' };
    if (fence === 'cancelled') return { outcome: 'cancelled' };

    const actions = input.plan.actions;
    const firstSeq = await nextLogSeq(trx, input.runId);
    // Read under the organisation's lock: the organisation's history entries order as its applies commit.
    const appliedAt =
      input.personIndex === false
        ? null
        : ((await sql<{ at: string }>(trx, 'select clock_timestamp()::text as at'))[0]?.at as string);
    await insertUsers(
      trx,
      input,
      actions.flatMap((action, i) => (action.action === 'create' ? [{ action, seq: firstSeq + i }] : [])),
      appliedAt,
    );
    await updateUsers(trx, input, actions);
    await deactivateUsers(
      trx,
      actions.flatMap((a) => (a.action === 'deactivate' ? [a.userId] : [])),
    );
    // Log lines are made as the database takes them: 200k of them at once would hold another copy of the run.
    const entries = () => logEntries(actions, input.approval?.approvedBy);
    await insertLog(trx, input.runId, entries(), { copy: input.copy, firstSeq });
    if (appliedAt !== null) {
      await insertPersonIndex(trx, {
        runId: input.runId,
        organisationId: input.organisationId,
        appliedAt,
        entries: entries(),
        firstSeq,
        copy: input.copy,
      });
    }

    const counts = input.plan.counts;
    const status = counts.warnings > 0 ? 'needs_attention' : 'success';
    await finishApplied(trx, input, {
      status,
      counts: { ...counts, errors: 0 },
      progress: { read: input.rowsRead, planned: actions.length, applied: actions.length },
      approvalId: input.approval?.id,
      source: input.source,
    });
    return { outcome: 'applied', status };
  });
}

/** The items CHUNK at a time, taken from the iterable only as each chunk is asked for. */
function* chunks<T>(items: Iterable<T>): Generator<T[]> {
  let chunk: T[] = [];
  for (const item of items) {
    chunk.push(item);
    if (chunk.length === CHUNK) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

function column(records: DirectoryRecord[], field: DirectoryRecordField): (string | null)[] {
  return records.map((record) => record[field]);
}

/**
 * The new users, each with the log line that creates it (`seq`). With the person index (`appliedAt`), a
 * create that applied cleanly is kept on the user row (created_run_id, created_seq, created_applied_at)
 * rather than as an index row: see isCreateKeptOnUserRow.
 */
export async function insertUsers(
  trx: Knex.Transaction,
  input: ApplyInput,
  creates: { action: PlannedAction; seq: number }[],
  appliedAt: string | null,
): Promise<void> {
  const rows = creates.flatMap(({ action, seq }) => {
    if (action.action !== 'create') return [];
    const kept = appliedAt !== null && isCreateKeptOnUserRow(logEntry(action));
    return [{ record: action.record, created: kept ? ([input.runId, seq, appliedAt] as const) : NOT_KEPT }];
  });
  if (rows.length === 0) return;
  const columns = `${RECORD_COLUMNS.map(([, name]) => name).join(', ')}, created_run_id, created_seq, created_applied_at`;
  const connection = await connectionOf(trx);
  if (input.copy !== false && (await takesCopy(connection))) {
    // The transaction's own timestamp, as now() gives every other statement of the apply.
    const [row] = await sql<{ now: string }>(trx, 'select now()::text as now');
    const now = row?.now ?? null;
    const lines = copyBatches(rows, ({ record, created }) =>
      [
        randomUUID(),
        input.organisationId,
        input.configurationId,
        now,
        now,
        ...RECORD_COLUMNS.map(([field]) => record[field]),
        ...created,
      ]
        .map(copyText)
        .join('\t'),
    );
    await pipeline(
      Readable.from(lines),
      connection.query(
        copyFrom(
          `copy directory_user (id, organisation_id, managed_by_id, created_at, updated_at, ${columns}) from stdin`,
        ),
      ),
    );
    return;
  }
  for (const part of chunks(rows)) {
    const arrays = RECORD_COLUMNS.map(([, , type]) => `?::${type}[]`).join(', ');
    const records = part.map((row) => row.record);
    await sql(
      trx,
      `insert into directory_user (id, organisation_id, managed_by_id, status, created_at, updated_at, ${columns})
       select gen_random_uuid(), ?, ?, 'active', now(), now(), v.*
       from unnest(${arrays}, ?::uuid[], ?::int[], ?::timestamptz[]) as v`,
      [
        input.organisationId,
        input.configurationId,
        ...RECORD_COLUMNS.map(([field]) => column(records, field)),
        ...[0, 1, 2].map((i) => part.map((row) => row.created[i] ?? null)),
      ],
    );
  }
}
const NOT_KEPT = [null, null, null] as const;

/**
 * A create that applied cleanly is kept on the new user's row, not as a person index row: a first import
 * creates every user, and an index row each made it about a third slower (bench:people). The history reads
 * it through the user's own indexes (the person_history_creates migration); a create with warnings carries
 * a message only its line has, and is indexed like every other line.
 */
export function isCreateKeptOnUserRow(entry: Pick<LogEntry, 'action' | 'outcome'>): boolean {
  return entry.action === 'create' && entry.outcome === 'applied';
}

/**
 * Updates, reactivations and claims. The planned record is the user's whole new state: it keeps the current
 * value of every field the source has no column for, or whose value was refused with a warning.
 */
async function updateUsers(
  trx: Knex.Transaction,
  input: ApplyInput,
  actions: PlannedAction[],
): Promise<void> {
  const writes = actions.flatMap((a) =>
    a.action === 'update' || a.action === 'reactivate'
      ? [{ id: a.userId, record: a.record, reactivate: a.action === 'reactivate' }]
      : [],
  );
  for (const part of chunks(writes)) {
    await sql(
      trx,
      `update directory_user u set
         ${RECORD_COLUMNS.map(([, name]) => `${name} = v.${name}`).join(', ')},
         managed_by_id = ?,
         status = 'active',
         deactivated_at = case when v.reactivate then null else u.deactivated_at end,
         updated_at = now()
       from unnest(?::uuid[], ?::boolean[]${RECORD_COLUMNS.map(([, , type]) => `, ?::${type}[]`).join('')})
         as v(id, reactivate${RECORD_COLUMNS.map(([, name]) => `, ${name}`).join('')})
       where u.id = v.id`,
      [
        input.configurationId,
        part.map((w) => w.id),
        part.map((w) => w.reactivate),
        ...RECORD_COLUMNS.map(([field]) =>
          column(
            part.map((w) => w.record),
            field,
          ),
        ),
      ],
    );
  }
}

async function deactivateUsers(trx: Knex.Transaction, userIds: string[]): Promise<void> {
  for (const part of chunks(userIds)) {
    await sql(
      trx,
      `update directory_user set status = 'deactivated', deactivated_at = now(), updated_at = now()
       where id = any(?::uuid[])`,
      [part],
    );
  }
}

function warningText(warnings: RowWarning[]): string | null {
  return warnings.length === 0 ? null : warnings.map((w) => w.message).join('; ');
}

export function* logEntries(actions: Iterable<PlannedAction>, approvedBy?: string): Generator<LogEntry> {
  for (const action of actions) yield logEntry(action, approvedBy);
}

/**
 * One result-log line per source row and per deactivation; `approvedBy`: the run applies a plan support
 * approved, and its deactivations say who approved them.
 */
export function logEntry(action: PlannedAction, approvedBy?: string): LogEntry {
  if (action.action === 'deactivate') {
    return {
      rowNumber: null,
      externalId: action.externalId,
      email: action.email,
      name: action.name,
      action: 'deactivate',
      outcome: 'applied',
      changes: { status: { before: 'active', after: 'deactivated' } },
      message:
        approvedBy === undefined
          ? 'Not in the source any more: deactivated'
          : `Not in the source any more: deactivated (above the threshold, approved by ${approvedBy})`,
    };
  }
  if (action.action === 'skip') {
    return {
      rowNumber: action.rowNumber,
      externalId: action.externalId,
      email: action.email,
      name: action.name,
      action: 'skip',
      outcome: 'not_applied',
      changes: null,
      message: warningText(action.warnings),
    };
  }
  const warned = action.warnings.length > 0;
  return {
    rowNumber: action.rowNumber,
    externalId: action.record.externalId,
    email: action.record.email,
    name: fullName(action.record),
    action: action.action,
    outcome: warned ? 'warning' : action.action === 'unchanged' ? 'no_change' : 'applied',
    changes: action.action === 'update' || action.action === 'reactivate' ? action.changes : null,
    message: warningText(action.warnings),
  };
}

/**
 * A value in COPY's text format: `\N` for null; backslash, tab, line feed and carriage return escaped.
 */
function copyText(value: string | number | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  return /[\\\t\n\r]/.test(value)
    ? value.replace(/[\\\t\n\r]/g, (char) => COPY_ESCAPES[char] as string)
    : value;
}
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** Lines of COPY text, handed to the database a batch at a time as the stream asks for them. */
function* copyBatches<T>(items: Iterable<T>, line: (item: T) => string): Generator<string> {
  let batch = '';
  let lines = 0;
  for (const item of items) {
    batch += `${line(item)}\n`;
    if (++lines === COPY_BATCH) {
      yield batch;
      batch = '';
      lines = 0;
    }
  }
  if (lines > 0) yield batch;
}
const COPY_BATCH = 1_000;

/**
 * Whether a connection takes `COPY ... FROM STDIN`: the embedded database (PGlite) does not speak that
 * part of the protocol. Asked once per connection.
 */
const copySupport = new WeakMap<pg.ClientBase, boolean>();

async function connectionOf(trx: Knex.Transaction): Promise<pg.ClientBase> {
  // A transaction's client hands out the transaction's connection.
  return (await trx.client.acquireConnection()) as pg.ClientBase;
}

async function takesCopy(connection: pg.ClientBase): Promise<boolean> {
  let known = copySupport.get(connection);
  if (known === undefined) {
    const { rows } = await connection.query<{ version: string }>('select version()');
    known = !rows[0]?.version.includes('PGlite');
    copySupport.set(connection, known);
  }
  return known;
}

/**
 * Appends log lines after the run's existing ones (seq continues), LOG_CHUNK_LINES to a row of
 * sync_log_chunk: by COPY, the cheapest way in, or where the database cannot take COPY (or `copy` is
 * false) by one insert per chunk.
 */
export async function insertLog(
  trx: Knex.Transaction,
  runId: string,
  entries: Iterable<LogEntry>,
  options: { copy?: boolean | undefined; firstSeq?: number } = {},
): Promise<number> {
  const firstSeq = options.firstSeq ?? (await nextLogSeq(trx, runId));
  const chunks = logChunks(entries, firstSeq);
  const connection = await connectionOf(trx);
  if (options.copy !== false && (await takesCopy(connection))) {
    // JSON text holds no tab or line break; only its backslashes need COPY's escape.
    const lines = (function* () {
      for (const chunk of chunks) {
        yield `${runId}\t${chunk.firstSeq}\t${chunk.lastSeq}\t${chunk.lines.replaceAll('\\', '\\\\')}\n`;
      }
    })();
    await pipeline(
      Readable.from(lines),
      connection.query(copyFrom('copy sync_log_chunk (run_id, first_seq, last_seq, lines) from stdin')),
    );
    return firstSeq;
  }
  for (const chunk of chunks) {
    await sql(
      trx,
      'insert into sync_log_chunk (run_id, first_seq, last_seq, lines) values (?, ?, ?, ?::json)',
      [runId, chunk.firstSeq, chunk.lastSeq, chunk.lines],
    );
  }
  return firstSeq;
}

/** The number the run's next log line gets: its lines so far continue. */
async function nextLogSeq(trx: Knex.Transaction, runId: string): Promise<number> {
  const [row] = await sql<{ next: number }>(
    trx,
    'select coalesce(max(last_seq), 0) + 1 as next from sync_log_chunk where run_id = ?',
    [runId],
  );
  return row?.next ?? 1;
}

const INDEXED_ACTIONS: ReadonlySet<LogAction> = new Set(PERSON_HISTORY_ACTIONS);

/** A key as the person index keeps it, or null: none, or too long to be searched for. */
function indexKey(value: string | null): string | null {
  if (value === null) return null;
  const key = personKey(value);
  return key === '' || key.length > PERSON_KEY_MAX ? null : key;
}

/**
 * Indexes the log lines (numbered from `firstSeq`, as insertLog numbered them) that changed or skipped a
 * person by the person's email and external ID, for their history across runs. Unchanged lines are not
 * indexed: an unchanged rerun writes no rows here; nor are clean creates, kept on the user row.
 */
export async function insertPersonIndex(
  trx: Knex.Transaction,
  input: {
    runId: string;
    organisationId: string;
    appliedAt: string;
    entries: Iterable<LogEntry>;
    firstSeq: number;
    copy?: boolean | undefined;
  },
): Promise<void> {
  const rows = (function* () {
    let seq = input.firstSeq;
    for (const entry of input.entries) {
      const line = seq++;
      if (!INDEXED_ACTIONS.has(entry.action) || isCreateKeptOnUserRow(entry)) continue;
      const email = indexKey(entry.email);
      const externalId = indexKey(entry.externalId);
      if (email === null && externalId === null) continue;
      const changes = entry.changes ? withoutLoneSurrogates(JSON.stringify(entry.changes)) : null;
      yield [
        line,
        email,
        externalId,
        entry.action,
        entry.outcome,
        entry.name,
        changes,
        entry.message,
      ] as const;
    }
  })();
  const connection = await connectionOf(trx);
  if (input.copy !== false && (await takesCopy(connection))) {
    const prefix = `${input.runId}\t${input.organisationId}\t${input.appliedAt}\t`;
    const lines = copyBatches(rows, (row) => `${prefix}${row.map(copyText).join('\t')}`);
    await pipeline(
      Readable.from(lines),
      connection.query(copyFrom(`copy sync_log_person (${PERSON_INDEX_COLUMNS}) from stdin`)),
    );
    return;
  }
  for (const part of chunks(rows)) {
    await sql(
      trx,
      `insert into sync_log_person (${PERSON_INDEX_COLUMNS})
       select ?, ?, ?::timestamptz, v.seq, v.email, v.external_id, v.action, v.outcome, v.name, v.changes::jsonb, v.message
       from unnest(?::int[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
         as v(seq, email, external_id, action, outcome, name, changes, message)`,
      [
        input.runId,
        input.organisationId,
        input.appliedAt,
        ...Array.from({ length: 8 }, (_, i) => part.map((row) => row[i])),
      ],
    );
  }
}

/** The person index's columns, in the order insertPersonIndex gives them. */
const PERSON_INDEX_COLUMNS =
  'run_id, organisation_id, applied_at, seq, email, external_id, action, outcome, name, changes, message';
