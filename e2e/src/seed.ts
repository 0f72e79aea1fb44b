import { createAccount, createOrganisation, type Orm } from '@provisioning/db';
import type { Connector, Role, RunStatus, SyncService } from '@provisioning/shared';

export const PASSWORD = 'correct horse battery staple';

export interface SeededOrganisation {
  id: string;
  /** The account email of each role asked for. */
  accounts: Partial<Record<Role, string>>;
}

/** An organisation with one account per role given, each signing in with PASSWORD. */
export async function seedOrganisation(
  owner: Orm,
  options: {
    name: string;
    roles: readonly Role[];
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
  const accounts: Partial<Record<Role, string>> = {};
  for (const role of options.roles) {
    const email = `${role}@${domain}.example`;
    await createAccount(owner.em.fork(), {
      organisationId: organisation.id,
      email,
      name: `${role.replace(/-/g, ' ').replace(/\b\w/g, (c) => c.toUpperCase())} of ${options.name}`,
      password: PASSWORD,
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
  connector: Connector,
): Promise<string> {
  const [row] = await owner.em.fork().execute<{ id: string }[]>(
    `insert into sync_configuration (id, organisation_id, name, connector, settings, mapping, created_at, updated_at)
     values (gen_random_uuid(), ?, ?, ?, '{}', '{}', now(), now()) returning id`,
    [organisationId, name, connector],
  );
  return row!.id;
}

export interface SeedRun {
  organisationId: string;
  configurationId: string;
  status: RunStatus;
  startedAt: Date;
  durationMs?: number;
  counts?: Partial<
    Record<'created' | 'updated' | 'deactivated' | 'unchanged' | 'skipped' | 'warning' | 'error', number>
  >;
  errorSummary?: string;
  thresholdDetails?: {
    plannedDeactivations: number;
    activeManagedUsers: number;
    thresholdCount: number;
    thresholdPercent: number;
  };
}

/** A finished run as the worker would have left it. */
export async function seedRun(owner: Orm, run: SeedRun): Promise<string> {
  const queuedAt = new Date(run.startedAt.getTime() - 2_000);
  const durationMs = run.durationMs ?? 4_000;
  const counts = run.counts ?? {};
  const [row] = await owner.em.fork().execute<{ id: string }[]>(
    `insert into sync_run (id, organisation_id, configuration_id, status, trigger, queued_at, started_at, finished_at,
       duration_ms, created_count, updated_count, deactivated_count, unchanged_count, skipped_count, warning_count,
       error_count, error_summary, threshold_details, attempt)
     values (gen_random_uuid(), ?, ?, ?, 'schedule', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) returning id`,
    [
      run.organisationId,
      run.configurationId,
      run.status,
      queuedAt,
      run.startedAt,
      new Date(run.startedAt.getTime() + durationMs),
      durationMs,
      counts.created ?? 0,
      counts.updated ?? 0,
      counts.deactivated ?? 0,
      counts.unchanged ?? 0,
      counts.skipped ?? 0,
      counts.warning ?? 0,
      counts.error ?? 0,
      run.errorSummary ?? null,
      run.thresholdDetails ? JSON.stringify({ ...run.thresholdDetails, sample: [] }) : null,
    ],
  );
  return row!.id;
}

export interface SeedLogEntry {
  rowNumber: number | null;
  externalId?: string;
  email?: string;
  name?: string;
  action: 'create' | 'update' | 'reactivate' | 'deactivate' | 'unchanged' | 'skip' | 'error';
  outcome: 'applied' | 'no_change' | 'warning' | 'failed' | 'not_applied';
  message?: string;
  hint?: string;
}

export async function seedLog(owner: Orm, runId: string, entries: SeedLogEntry[]): Promise<void> {
  const em = owner.em.fork();
  for (const [seq, entry] of entries.entries()) {
    await em.execute(
      `insert into sync_log (run_id, seq, row_number, external_id, email, name, action, outcome, message, hint)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        runId,
        seq,
        entry.rowNumber,
        entry.externalId ?? null,
        entry.email ?? null,
        entry.name ?? null,
        entry.action,
        entry.outcome,
        entry.message ?? null,
        entry.hint ?? null,
      ],
    );
  }
}
