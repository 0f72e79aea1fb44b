import { createHash } from 'node:crypto';
import {
  blockedUserIds,
  type ClaimedRun,
  claimRun,
  configurationNamesOf,
  type EntityManager,
  finishCancelled,
  finishUnapplied,
  getApproval,
  getConfiguration,
  heartbeat,
  type Orm,
  type SyncConfiguration,
  sql,
  type ThresholdDetails,
} from '@provisioning/db';
import {
  DEFAULT_MAX_TEXT_BYTES,
  DIRECTORY_FIELDS,
  type DirectoryField,
  type RunProgress,
  type RunStatus,
  type SourceFingerprint,
} from '@provisioning/shared';
import { loadSource } from '../connectors/load-source.ts';
import {
  type AllowList,
  type LoadOptions,
  SourceError,
  type SourceTable,
  TextBudget,
} from '../connectors/source.ts';
import { applyPlan, insertLog } from './apply.ts';
import { resolveColumns } from './columns.ts';
import { createInterner } from './intern.ts';
import { createNormaliser } from './normalise.ts';
import { plan as planSync } from './plan.ts';
import {
  comparedFields,
  fieldColumnsSql,
  otherFieldsSql,
  readableSignature,
  type SignedRow,
  SignedUser,
  signatureSql,
} from './signature.ts';
import { checkApproval, checkThreshold, type ThresholdExceeded } from './threshold.ts';
import type { DirectoryRecord, ExistingUser, Plan } from './types.ts';

export interface RunSyncOptions {
  orm: Orm;
  secretKey: Buffer;
  /** Whether a transient source error may still be retried (pg-boss has attempts left). */
  canRetry?: boolean;
  heartbeatIntervalMs?: number;
  /** Non-public connector hosts the operator allows (CONNECTOR_ALLOWED_HOSTS); default: public only. */
  allowList?: AllowList;
  /** Aborted when the worker stops: the run ends its work and is handed back ({ status: 'stopped' }). */
  signal?: AbortSignal;
  /** Told after each heartbeat whether it advanced the run's heartbeat (tests watch a stall with it). */
  onHeartbeat?: (advanced: boolean) => void;
  /** Replaces the connector, for tests that feed rows directly. */
  load?: (configuration: SyncConfiguration, options: LoadOptions) => Promise<SourceTable>;
  /**
   * Called between phases: the worker times them for its metrics; tests act at an exact point (e.g.
   * crash before apply).
   */
  onPhase?: (phase: 'loaded' | 'planned' | 'applying') => Promise<void> | void;
  /** false: write users and the log by unnest() arrays even where COPY works (tests cover both ways). */
  copy?: boolean;
  /** false: no person index rows (the benchmark's run without them); runs always index. */
  personIndex?: boolean;
}

export type RunSyncResult =
  | { status: RunStatus }
  /** The run was not there to take, or another attempt took it over: nothing written by this one. */
  | { status: 'not_run'; reason: string }
  /** Another run of the configuration is in progress: try this one again later. */
  | { status: 'busy' }
  /** The worker is stopping: nothing written; the run is still in progress under `attempt`, to hand back. */
  | { status: 'stopped'; attempt: number };

/** Thrown to have the job retried later (pg-boss backoff); the run stays in progress meanwhile. */
export class RetryLater extends Error {
  constructor(readonly sourceError: SourceError) {
    super(`${sourceError.message} (will retry)`);
    this.name = 'RetryLater';
  }
}

class Cancelled extends Error {}
class Lost extends Error {}
class Stopped extends Error {}

const CHECKPOINT_ROWS = 5_000;
/** Plans against a fresh directory when another configuration's apply took an email first. */
const MAX_PLAN_ROUNDS = 3;

/**
 * One run, start to end: load → normalise → plan → threshold guard → apply. Nothing is written to the
 * directory before apply, and apply is one transaction; every other exit leaves the directory untouched.
 */
export async function runSync(runId: string, options: RunSyncOptions): Promise<RunSyncResult> {
  const em = options.orm.em.fork();
  const claimed = await claimRun(em, runId);
  if (claimed === 'gone') return { status: 'not_run', reason: 'the run is finished or cancelled' };
  if (claimed === 'busy') return { status: 'busy' };

  const progress: RunProgress = { read: 0, planned: 0, applied: 0 };
  // Aborted with the reason the run must stop: Lost, Cancelled or Stopped. It cuts a transfer in flight.
  const abort = new AbortController();
  const stop = () => abort.abort(new Stopped('the worker is stopping'));
  if (options.signal?.aborted) stop();
  else options.signal?.addEventListener('abort', stop, { once: true });
  // Whether the run moved (bytes, rows) since the last heartbeat. Only then does the timer's heartbeat
  // advance, so a run stuck in a transfer goes stale and the reaper takes it from a worker that hangs.
  let moved = false;
  const beat = async (advance: boolean) => {
    const state = await heartbeat(options.orm.em.fork(), claimed, progress, { advance });
    if (!state.owned) abort.abort(new Lost('another attempt owns this run'));
    else if (state.cancelRequested) abort.abort(new Cancelled('cancel requested'));
    options.onHeartbeat?.(advance && state.owned);
  };
  // Between phases and every CHECKPOINT_ROWS rows: the run has moved.
  const checkpoint = async () => {
    await beat(true);
    abort.signal.throwIfAborted();
  };
  const timer = setInterval(() => {
    const advance = moved;
    moved = false;
    void beat(advance).catch(() => {});
  }, options.heartbeatIntervalMs ?? 5_000);
  // Kept for a load that fails once read: its fingerprint is stored with Data Load Failed.
  let source: SourceTable | undefined;

  try {
    const configuration = await getConfiguration(em, claimed.configurationId);
    const load =
      options.load ?? ((config, loadOptions) => loadSource(config, options.secretKey, loadOptions));
    source = await load(configuration, {
      runId: claimed.runId,
      allowList: options.allowList,
      signal: abort.signal,
      onProgress: () => {
        moved = true;
      },
    });
    let nextCheckpoint = CHECKPOINT_ROWS;
    const planned = await planFromSource(options.orm, configuration, source, {
      onRows: async (read) => {
        progress.read = read;
        moved = true;
        if (read >= nextCheckpoint) {
          nextCheckpoint = read + CHECKPOINT_ROWS;
          await checkpoint();
        }
      },
      onLoaded: async () => {
        await options.onPhase?.('loaded');
        await checkpoint();
      },
    });
    const approval = claimed.approvalId ? await approvalOf(em, claimed.approvalId) : undefined;
    let plan = planned.plan;
    for (let round = 1; ; round++) {
      progress.planned = plan.actions.length;
      await options.onPhase?.('planned');
      await checkpoint();

      const exceeded = checkThreshold(plan, {
        thresholdCount: configuration.thresholdCount,
        thresholdPercent: configuration.thresholdPercent,
      });
      const approved = exceeded && approval ? checkApproval(plan, exceeded, approval) : undefined;
      if (exceeded && !approved?.pass) {
        const refused = approved && !approved.pass ? approved : undefined;
        return {
          status: await finishAboveThreshold(options.orm, claimed, plan, exceeded, progress, {
            message: refused?.message ?? exceeded.message,
            refusedApproval: refused && approval ? { id: approval.id, outcome: refused.outcome } : undefined,
            source: planned.source,
          }),
        };
      }

      await options.onPhase?.('applying');
      // The approval is marked used by the apply that commits under it; within the limits, by any apply.
      const underApproval = approval?.usable ? approval : undefined;
      const result = await applyPlan(options.orm, {
        runId: claimed.runId,
        attempt: claimed.attempt,
        organisationId: claimed.organisationId,
        configurationId: configuration.id,
        plan,
        rowsRead: planned.rowsRead,
        copy: options.copy,
        personIndex: options.personIndex,
        approval: underApproval && { id: underApproval.id, approvedBy: underApproval.approvedBy },
        source: planned.source,
      });
      if (result.outcome === 'lost') return { status: 'not_run', reason: 'another attempt owns this run' };
      if (result.outcome === 'cancelled') throw new Cancelled('cancel requested');
      if (result.outcome === 'applied') return { status: result.status };
      if (round >= MAX_PLAN_ROUNDS) {
        throw new Error(`The directory kept changing under this run's plan (${round} attempts)`);
      }
      if (result.outcome === 'approval_lapsed' && approval) {
        // Used or expired since it was read: check the same plan against it as it is now.
        Object.assign(approval, (await approvalOf(em, approval.id)) ?? { usable: false });
        continue;
      }
      // Another configuration's run took an email meanwhile: plan again against the directory as it is now.
      plan = await planned.replan();
    }
  } catch (thrown) {
    // Once the run was told to stop, whatever the interrupted work threw is a consequence of that.
    const error: unknown = abort.signal.aborted ? abort.signal.reason : thrown;
    if (error instanceof Lost) return { status: 'not_run', reason: 'another attempt owns this run' };
    if (error instanceof Stopped) return { status: 'stopped', attempt: claimed.attempt };
    if (error instanceof Cancelled) {
      await finishCancelled(em, claimed.runId, claimed.attempt, 'Cancelled by support before it was applied');
      return { status: 'cancelled' };
    }
    if (error instanceof SourceError) {
      if (error.transient && options.canRetry) throw new RetryLater(error);
      return {
        status: await finishDataLoadFailed(
          options.orm,
          claimed,
          error,
          progress,
          source?.fingerprint?.() ?? error.fingerprint,
        ),
      };
    }
    throw error;
  } finally {
    clearInterval(timer);
    options.signal?.removeEventListener('abort', stop);
  }
}

export interface PlanHooks {
  /** After each batch of source rows, with the rows read so far; what it throws stops the plan. */
  onRows?: (read: number) => Promise<void> | void;
  /** Once every row is read, before the directory is. */
  onLoaded?: () => Promise<void> | void;
}

/** A source's plan against the directory, and the way to plan the same rows again. */
export interface SourcePlan {
  plan: Plan;
  rowsRead: number;
  /** What was read (SourceTable.fingerprint()); undefined for a source that has none. */
  source: SourceFingerprint | undefined;
  /** Plans the same rows against the directory as it is now. */
  replan(): Promise<Plan>;
}

/**
 * Load → normalise → plan, for a run and a dry run alike: reads every row of `source` (and closes it),
 * then the organisation's directory, and plans the configuration's changes. Writes nothing. A source
 * with a header and no rows is a SourceError (NoDataRows).
 */
export async function planFromSource(
  orm: Orm,
  configuration: SyncConfiguration,
  source: SourceTable,
  hooks: PlanHooks = {},
): Promise<SourcePlan> {
  const organisationId = configuration.organisation.id;
  const normaliser = (() => {
    try {
      return createNormaliser(resolveColumns(source.headers, configuration.mapping, source.defaultColumns), {
        text: source.textBudget ?? new TextBudget(DEFAULT_MAX_TEXT_BYTES, source.origin),
      });
    } catch (error) {
      void source.close();
      throw error;
    }
  })();
  let rowsRead = 0;
  try {
    for await (const batch of source.batches) {
      for (const record of batch) normaliser.add(record);
      rowsRead += batch.length;
      await hooks.onRows?.(rowsRead);
    }
  } finally {
    await source.close();
  }
  if (rowsRead === 0) {
    throw new SourceError('NoDataRows', `${source.origin} has a header row but no data rows`, {
      hint: 'Check that the export that writes the file ran completely; nothing was changed.',
    });
  }
  await hooks.onLoaded?.();

  const compared = comparedFields(normaliser.presentFields);
  let existing = await loadDirectory(orm, organisationId, compared);
  // Built only when a manager is not in the file itself: most files name every manager they refer to.
  let directoryEmails: Set<string> | undefined;
  const rows = normaliser.finish((email) => {
    directoryEmails ??= new Set(existing.map((user) => user.email.toLowerCase()));
    return directoryEmails.has(email);
  });
  const configurationNames = await configurationNamesOf(orm.em.fork(), organisationId);
  const planAgainst = () =>
    planSync({
      configurationId: configuration.id,
      rows,
      existing,
      presentFields: normaliser.presentFields,
      configurationNames,
    });
  return {
    plan: planAgainst(),
    rowsRead,
    source: source.fingerprint?.(),
    async replan() {
      existing = await loadDirectory(orm, organisationId, compared);
      return planAgainst();
    },
  };
}

/** The approval a run of trigger `approval` runs under, with the plan it approved. */
async function approvalOf(em: EntityManager, approvalId: string) {
  const approval = await getApproval(em, approvalId);
  if (!approval) return undefined;
  return { ...approval, approvedUserIds: await blockedUserIds(em, approval.blockedRunId) };
}

/** Rows per fetch from the directory cursor. */
const DIRECTORY_BATCH = 10_000;

/**
 * Every user of the organisation: the planner matches against all, and touches only its own. The fields
 * the run compares come as one signature per user (signature.ts), decoded only for the users that turn out
 * to change: reading them as a column each was most of the time a rerun took here. Read through a cursor
 * a batch at a time, the next batch asked for while the current one is handled.
 */
async function loadDirectory(
  orm: Orm,
  organisationId: string,
  fields: readonly DirectoryField[],
): Promise<ExistingUser[]> {
  const users: ExistingUser[] = [];
  /** Users whose stored values hold a tab: read again field by field. */
  const unreadable: SignedRow[] = [];
  const intern = createInterner();
  const knex = orm.em.getConnection().getKnex();
  await knex.transaction(
    async (trx) => {
      await sql(
        trx,
        `declare directory no scroll cursor for
         select id, external_id as "externalId", email, status, managed_by_id as "managedById",
           ${signatureSql(fields)} as signature${otherFieldsSql(fields)}
         from directory_user where organisation_id = ?`,
        [organisationId],
      );
      const fetch = () => sql<SignedRow>(trx, `fetch forward ${DIRECTORY_BATCH} from directory`);
      for (let next = fetch(); ; ) {
        const rows = await next;
        const more = rows.length === DIRECTORY_BATCH;
        // The next batch is asked for before this one is handled: the database reads it meanwhile.
        if (more) next = fetch();
        for (const row of rows) {
          row.status = intern(row.status);
          row.managedById = intern(row.managedById);
          if (readableSignature(row.signature, fields.length)) users.push(new SignedUser(row, fields));
          else unreadable.push(row);
        }
        if (!more) break;
      }
    },
    { readOnly: true },
  );
  if (unreadable.length > 0) {
    const rows = await sql<DirectoryRecord & { id: string }>(
      knex,
      `select id${fieldColumnsSql(DIRECTORY_FIELDS)} from directory_user where id = any(?::uuid[])`,
      [unreadable.map((row) => row.id)],
    );
    const whole = new Map(rows.map((row) => [row.id, row]));
    for (const row of unreadable) {
      const record = whole.get(row.id);
      // Deleted since the cursor read it: the plan goes without it, as it would have read the directory later.
      if (record) users.push(new SignedUser(row, fields, record));
    }
  }
  return users;
}

/** The final status of the two outcomes that write nothing to the directory, with the run's log if any. */
async function finishWithoutWrites(
  orm: Orm,
  run: ClaimedRun,
  outcome: Parameters<typeof finishUnapplied>[2],
  log: Parameters<typeof insertLog>[2],
): Promise<RunStatus> {
  const knex = orm.em.getConnection().getKnex();
  await knex.transaction(async (trx) => {
    const finished = await finishUnapplied(trx, run, outcome);
    if (finished) await insertLog(trx, run.runId, log);
  });
  return outcome.status;
}

function finishDataLoadFailed(
  orm: Orm,
  run: ClaimedRun,
  error: SourceError,
  progress: RunProgress,
  source: SourceFingerprint | undefined,
) {
  return finishWithoutWrites(
    orm,
    run,
    { status: 'data_load_failed', errorSummary: error.message, errors: 1, progress, source },
    [
      {
        rowNumber: null,
        externalId: null,
        email: null,
        name: null,
        action: 'error',
        outcome: 'failed',
        changes: null,
        message: error.message,
        hint: error.hint,
      },
    ],
  );
}

function finishAboveThreshold(
  orm: Orm,
  run: ClaimedRun,
  plan: Plan,
  blocked: ThresholdExceeded,
  progress: RunProgress,
  outcome: {
    message: string;
    refusedApproval: { id: string; outcome: 'plan_grew' | 'lapsed' } | undefined;
    source: SourceFingerprint | undefined;
  },
) {
  const deactivations = plan.actions.flatMap((a) => (a.action === 'deactivate' ? [a] : []));
  const userIds = deactivations.map((a) => a.userId);
  const details: ThresholdDetails = {
    plannedDeactivations: blocked.plannedDeactivations,
    activeManagedUsers: blocked.activeManagedUsers,
    thresholdCount: blocked.thresholdCount,
    thresholdPercent: blocked.thresholdPercent,
    sample: deactivations.slice(0, 50).map((a) => ({ externalId: a.externalId, email: a.email })),
    planDigest: planDigest(userIds),
  };
  // The would-be deactivations stay on the run for support and the run's details; they are not offered
  // as a log download.
  return finishWithoutWrites(
    orm,
    run,
    {
      status: 'above_deactivation_threshold',
      errorSummary: outcome.message,
      thresholdDetails: details,
      blockedUserIds: userIds,
      refusedApproval: outcome.refusedApproval,
      errors: 0,
      progress,
      source: outcome.source,
    },
    [],
  );
}

/** SHA-256 (hex) of the user IDs, sorted and joined by line feeds: names one exact plan. */
export function planDigest(userIds: readonly string[]): string {
  return createHash('sha256')
    .update([...userIds].sort().join('\n'))
    .digest('hex');
}
