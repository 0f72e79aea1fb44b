import type { EntityManager } from '@mikro-orm/postgresql';
import {
  type ApprovalOutcome,
  DomainError,
  fullName,
  type PlannedDeactivationsInput,
  PlannedDeactivationsInputSchema,
  type PlannedDeactivationsPage,
  parseInput,
} from '@provisioning/shared';
import type { Knex } from 'knex';
import { inOrganisation, type SqlRunner, sql } from './common.ts';

/**
 * sync_run_approval and sync_run_blocked_user: their one writer, and their reads. The run ledger's own
 * writes that go with them (a blocked run's final status, the approved run's queueing and apply) are in
 * sync-run-lifecycle.repository.ts, which calls these inside its transactions.
 */

/** Rows per statement when storing a blocked plan: bounds one query's arrays. */
const BLOCKED_CHUNK = 20_000;

/** Inside the transaction that ends a run Above Deactivation Threshold: every user it would deactivate. */
export async function insertBlockedUsers(
  trx: Knex.Transaction,
  runId: string,
  userIds: readonly string[],
): Promise<void> {
  for (let start = 0; start < userIds.length; start += BLOCKED_CHUNK) {
    await sql(
      trx,
      'insert into sync_run_blocked_user (run_id, user_id) select ?, unnest(?::uuid[]) on conflict do nothing',
      [runId, userIds.slice(start, start + BLOCKED_CHUNK)],
    );
  }
}

/** The users a blocked run would have deactivated. */
export async function blockedUserIds(db: SqlRunner, runId: string): Promise<Set<string>> {
  const rows = await sql<{ user_id: string }>(
    db,
    'select user_id from sync_run_blocked_user where run_id = ?',
    [runId],
  );
  return new Set(rows.map((row) => row.user_id));
}

/** An approval as the approved run checks it. */
export interface ApprovalForRun {
  id: string;
  blockedRunId: string;
  approvedBy: string;
  reason: string;
  expiresAt: Date;
  usedByRunId: string | null;
  /** Unused and unexpired, by the database's clock. */
  usable: boolean;
}

export async function getApproval(db: SqlRunner, approvalId: string): Promise<ApprovalForRun | undefined> {
  const [row] = await sql<{
    id: string;
    blocked_run_id: string;
    approved_by: string;
    reason: string;
    expires_at: Date | string;
    used_by_run_id: string | null;
    usable: boolean;
  }>(
    db,
    `select id, blocked_run_id, approved_by, reason, expires_at, used_by_run_id,
       used_by_run_id is null and expires_at > now() as usable
     from sync_run_approval where id = ?`,
    [approvalId],
  );
  return row
    ? {
        id: row.id,
        blockedRunId: row.blocked_run_id,
        approvedBy: row.approved_by,
        reason: row.reason,
        expiresAt: new Date(row.expires_at),
        usedByRunId: row.used_by_run_id,
        usable: row.usable,
      }
    : undefined;
}

/**
 * Inside the approval's transaction: the approval of `blockedRunId`, valid for `validHours`. Undefined
 * when the run was approved already (the unique blocked run decides, whatever ran concurrently).
 */
export async function insertApproval(
  trx: Knex.Transaction,
  blockedRunId: string,
  approval: { by: string; reason: string; validHours: number },
): Promise<{ id: string; approvedAt: Date; expiresAt: Date } | undefined> {
  const [row] = await sql<{ id: string; approved_at: Date | string; expires_at: Date | string }>(
    trx,
    `insert into sync_run_approval (id, blocked_run_id, approved_by, reason, approved_at, expires_at)
     values (gen_random_uuid(), ?, ?, ?, now(), now() + make_interval(hours => ?))
     on conflict (blocked_run_id) do nothing
     returning id, approved_at, expires_at`,
    [blockedRunId, approval.by, approval.reason, approval.validHours],
  );
  return row
    ? { id: row.id, approvedAt: new Date(row.approved_at), expiresAt: new Date(row.expires_at) }
    : undefined;
}

/**
 * Inside the apply's transaction: the approval is used by `runId`. False when it was used or expired
 * meanwhile: the caller must then not commit.
 */
export async function markApprovalUsed(
  trx: Knex.Transaction,
  approvalId: string,
  runId: string,
): Promise<boolean> {
  const [row] = await sql(
    trx,
    `update sync_run_approval set used_by_run_id = ?, outcome = 'applied'
     where id = ? and used_by_run_id is null and expires_at > now() returning id`,
    [runId, approvalId],
  );
  return row !== undefined;
}

/** Inside the transaction that blocks the approved run again: why the approval did not carry it. */
export async function markApprovalRefused(
  trx: Knex.Transaction,
  approvalId: string,
  outcome: Exclude<ApprovalOutcome, 'applied'>,
): Promise<void> {
  await sql(
    trx,
    'update sync_run_approval set outcome = ? where id = ? and used_by_run_id is null and outcome is null',
    [outcome, approvalId],
  );
}

/**
 * A page of the users a blocked run of the organisation would have deactivated, with who they are now
 * (null when they have left the directory since), in user ID order, keyset-paged. Another
 * organisation's run is NOT_FOUND; a run that blocked nothing has none.
 */
export async function listPlannedDeactivations(
  em: EntityManager,
  organisationId: string,
  input: PlannedDeactivationsInput,
): Promise<PlannedDeactivationsPage> {
  const { runId, cursor, limit } = parseInput(
    PlannedDeactivationsInputSchema,
    input,
    'Planned deactivations',
  );
  const notFound = new DomainError('NOT_FOUND', `Run ${runId} not found`);
  return inOrganisation(em, organisationId, async (tx) => {
    const [run] = await sql(tx, 'select id from sync_run where id = ? and organisation_id = ?', [
      runId,
      organisationId,
    ]);
    if (!run) throw notFound;
    const rows = await sql<{
      user_id: string;
      first_name: string | null;
      last_name: string | null;
      email: string | null;
      external_id: string | null;
    }>(
      tx,
      `select b.user_id, u.first_name, u.last_name, u.email, u.external_id
       from (select user_id from sync_run_blocked_user where run_id = ? and (?::uuid is null or user_id > ?::uuid)
             order by user_id limit ?) b
       left join directory_user u on u.id = b.user_id and u.organisation_id = ?
       order by b.user_id`,
      [runId, cursor ?? null, cursor ?? null, limit + 1, organisationId],
    );
    const page = rows.slice(0, limit);
    return {
      users: page.map((row) => ({
        userId: row.user_id,
        name:
          row.first_name === null
            ? null
            : fullName({ firstName: row.first_name, lastName: row.last_name ?? '' }),
        email: row.email,
        externalId: row.external_id,
      })),
      nextCursor: rows.length > limit ? (page[page.length - 1]?.user_id ?? null) : null,
    };
  });
}
