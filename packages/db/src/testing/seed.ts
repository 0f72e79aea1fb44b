/**
 * Rows for tests and benchmarks, written as the owner (row-level security does not apply to it).
 * Exported as `@provisioning/db/testing` only, never from the package's main entry, so production code
 * does not pull it in.
 */
import {
  type Connector,
  PERSON_HISTORY_ACTIONS,
  ROLE_LABELS,
  ROLES,
  type Role,
  type RunStatus,
  type SlackNotifyPolicy,
  type SyncService,
} from '@provisioning/shared';
import type { Orm } from '../orm.ts';
import { createAccount } from '../repositories/account.repository.ts';
import { createOrganisation } from '../repositories/organisation.repository.ts';
import { saveSlackInstallation } from '../repositories/slack.repository.ts';

/** The password of every seeded account. */
export const SEED_PASSWORD = 'correct horse battery staple';

export interface SeededOrganisation {
  id: string;
  /** Account email per role (only the roles seeded are present). */
  accounts: Record<Role, string>;
}

let emailCounter = 0;

/**
 * An organisation with one account per role of `roles` (all roles unless given), each signing in with
 * SEED_PASSWORD. Emails are unique across calls, so one database can hold organisations of one name.
 */
export async function seedOrganisation(
  owner: Orm,
  options: {
    name: string;
    roles?: readonly Role[];
    timeZone?: string;
    provisioningEnabled?: boolean;
    syncService?: SyncService;
  },
): Promise<SeededOrganisation> {
  const organisation = await createOrganisation(owner.em.fork(), {
    name: options.name,
    timeZone: options.timeZone ?? 'UTC',
    provisioningEnabled: options.provisioningEnabled ?? true,
    syncService: options.syncService ?? 'user-sync',
  });
  const domain = options.name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const accounts = {} as Record<Role, string>;
  for (const role of options.roles ?? ROLES) {
    emailCounter += 1;
    const email = `${role}.${emailCounter}@${domain}.example`;
    await createAccount(owner.em.fork(), {
      organisationId: organisation.id,
      email,
      name: `${ROLE_LABELS[role]} of ${options.name}`,
      password: SEED_PASSWORD,
      roles: [role],
    });
    accounts[role] = email;
  }
  return { id: organisation.id, accounts };
}

/** A configuration row for runs to belong to; it is never run, so its settings stay empty. */
export async function seedConfiguration(
  owner: Orm,
  organisationId: string,
  name: string,
  connector: Connector = 'sftp',
): Promise<string> {
  const [row] = await owner.em.fork().execute<{ id: string }[]>(
    `insert into sync_configuration (id, organisation_id, name, connector, settings, mapping, created_at, updated_at)
     values (gen_random_uuid(), ?, ?, ?, '{}', '{}', now(), now()) returning id`,
    [organisationId, name, connector],
  );
  return row!.id;
}

/** The counters of a run, each stored in `<name>_count`. */
const COUNTS = [
  'created',
  'updated',
  'reactivated',
  'deactivated',
  'unchanged',
  'skipped',
  'warning',
  'error',
] as const;
export type SeedRunCount = (typeof COUNTS)[number];

/**
 * A run as the worker would have left it. Times are a Date or any string PostgreSQL reads as a
 * timestamptz (strings keep their microseconds). At least one of `queuedAt` and `startedAt` is given:
 * - `queuedAt` defaults to two seconds before `startedAt`;
 * - `startedAt` defaults to a second after `queuedAt`, except for a queued run; null: never started;
 * - a run of a final status finished `durationMs` (default 4000) after it started.
 */
export type SeedRun = {
  organisationId: string;
  configurationId: string;
  status: RunStatus;
  id?: string;
  durationMs?: number;
  counts?: Partial<Record<SeedRunCount, number>>;
  errorSummary?: string | null;
  /** Stored as given (JSON). */
  thresholdDetails?: unknown;
} & (
  | { queuedAt: string | Date; startedAt?: string | Date | null }
  | { queuedAt?: undefined; startedAt: string | Date }
);

export async function seedRun(owner: Orm, run: SeedRun): Promise<string> {
  if (run.queuedAt === undefined && !run.startedAt) throw new Error('seedRun needs queuedAt or startedAt');
  const notStarted = run.status === 'queued' || run.startedAt === null;
  const final = !['queued', 'in_progress'].includes(run.status);
  const durationMs = run.durationMs ?? 4000;
  const [row] = await owner.em.fork().execute<{ id: string }[]>(
    `with queued as (select coalesce(?::timestamptz, ?::timestamptz - interval '2 seconds') as queued_at),
     times as (
       select queued_at,
         case when ?::boolean then null else coalesce(?::timestamptz, queued_at + interval '1 second') end as started_at
       from queued
     )
     insert into sync_run (id, organisation_id, configuration_id, status, trigger, queued_at, started_at, finished_at,
       duration_ms, ${COUNTS.map((count) => `${count}_count`).join(', ')}, error_summary, threshold_details)
     select coalesce(?::uuid, gen_random_uuid()), ?, ?, ?, 'schedule', queued_at, started_at,
       case when ?::boolean then started_at + ?::int * interval '1 millisecond' end,
       ?::int, ${COUNTS.map(() => '?').join(', ')}, ?, ?::jsonb
     from times
     returning id`,
    [
      run.queuedAt ?? null,
      run.startedAt ?? null,
      notStarted,
      run.startedAt ?? null,
      run.id ?? null,
      run.organisationId,
      run.configurationId,
      run.status,
      final,
      durationMs,
      final ? durationMs : null,
      ...COUNTS.map((count) => run.counts?.[count] ?? 0),
      run.errorSummary ?? null,
      run.thresholdDetails === undefined ? null : JSON.stringify(run.thresholdDetails),
    ],
  );
  return row!.id;
}

export interface SeedLogEntry {
  rowNumber?: number | null;
  externalId?: string | null;
  email?: string | null;
  name?: string | null;
  action: string;
  outcome: string;
  message?: string | null;
  hint?: string | null;
  /** Stored as given (JSON). */
  changes?: unknown;
}

/**
 * SQL that stores the log lines a query selects (sync_log's columns in order, seqs consecutive per run)
 * as chunks of 1,000 lines, the way a sync writes them. Inserting into the `sync_log` view makes a chunk
 * per line: right for a few lines, not for a fixture of 100k.
 */
export function insertLogChunksSql(select: string): string {
  return `insert into sync_log_chunk (run_id, first_seq, last_seq, lines)
    select run_id, min(seq), max(seq), json_agg(json_build_array(
      seq, row_number, external_id, email, name, action, outcome, changes, message, hint) order by seq)
    from (${select}) as l(run_id, seq, row_number, external_id, email, name, action, outcome, changes, message, hint)
    group by run_id, seq / 1000`;
}

/**
 * SQL that indexes the lines of the runs a query selects (`run_id`) for a person's history, as their
 * apply would have: the lines that changed or skipped a person, by lower-cased email and external ID,
 * applied when the run finished.
 */
export function indexPersonLinesSql(runIds: string): string {
  return `insert into sync_log_person (run_id, seq, organisation_id, applied_at, email, external_id, action,
      outcome, name, changes, message)
    select l.run_id, l.seq, r.organisation_id, coalesce(r.finished_at, r.queued_at), lower(l.email),
      lower(l.external_id), l.action, l.outcome, l.name, l.changes, l.message
    from sync_log l join sync_run r on r.id = l.run_id
    where l.run_id in (${runIds})
      and l.action in (${PERSON_HISTORY_ACTIONS.map((action) => `'${action}'`).join(', ')})
      and (l.email is not null or l.external_id is not null)`;
}

/** Log entries of a run, numbered in the order given. */
export async function seedLog(owner: Orm, runId: string, entries: readonly SeedLogEntry[]): Promise<void> {
  const em = owner.em.fork();
  for (const [seq, entry] of entries.entries()) {
    await em.execute(
      `insert into sync_log (run_id, seq, row_number, external_id, email, name, action, outcome, changes, message, hint)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?)`,
      [
        runId,
        seq,
        entry.rowNumber ?? null,
        entry.externalId ?? null,
        entry.email ?? null,
        entry.name ?? null,
        entry.action,
        entry.outcome,
        entry.changes === undefined ? null : JSON.stringify(entry.changes),
        entry.message ?? null,
        entry.hint ?? null,
      ],
    );
  }
}

/** A connected Slack workspace of an organisation, as `slack connect` stores it (token sealed with `secretKey`). */
export async function seedSlackInstallation(
  owner: Orm,
  secretKey: Buffer,
  installation: {
    organisationId: string;
    teamId: string;
    botToken: string;
    channelId?: string;
    notify?: SlackNotifyPolicy;
  },
): Promise<void> {
  await saveSlackInstallation(owner.em.fork(), secretKey, {
    teamName: null,
    botUserId: 'U0BOT',
    botId: 'B0BOT',
    channelId: 'C0RUNS',
    notify: 'failures-and-recovery',
    ...installation,
  });
}
