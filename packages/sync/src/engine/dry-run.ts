import { getConfiguration, getOrganisation, type Orm } from '@provisioning/db';
import type { Connector, SourceFingerprint } from '@provisioning/shared';
import { loadSource } from '../connectors/load-source.ts';
import type { AllowList } from '../connectors/source.ts';
import type { LogFileEntry } from '../logs/log-file.ts';
import { logEntry } from './apply.ts';
import { planFromSource, type RunSyncOptions } from './run-sync.ts';
import { checkThreshold } from './threshold.ts';
import type { Plan } from './types.ts';

export interface DryRunOptions {
  secretKey: Buffer;
  /** Non-public connector hosts the operator allows (CONNECTOR_ALLOWED_HOSTS); default: public only. */
  allowList?: AllowList | undefined;
  signal?: AbortSignal | undefined;
  /** Replaces the connector, for tests and benchmarks that feed rows directly. */
  load?: RunSyncOptions['load'];
}

/** Row warnings a dry run prints; the would-be log (`--out`) has every one. */
export const DRY_RUN_WARNINGS_SHOWN = 100;

/** What a run of the configuration would do now, as `sync dry-run` prints it. */
export interface DryRunReport {
  counts: Plan['counts'];
  threshold: {
    /** The run would end Above Deactivation Threshold, writing nothing. */
    wouldBlock: boolean;
    planned: number;
    activeManagedUsers: number;
    limits: { count: number; percent: number };
    message: string | null;
  };
  /** `fingerprint`: the exact source read, as a run stores it (null for rows fed without one). */
  source: { connector: Connector; origin: string; rows: number; fingerprint: SourceFingerprint | null };
  /** The first DRY_RUN_WARNINGS_SHOWN row warnings; counts.warnings says how many there are. */
  warnings: string[];
}

export interface DryRun {
  report: DryRunReport;
  plan: Plan;
  /** When the dry run started, and the organisation's time zone: the would-be log's download name. */
  startedAt: Date;
  timeZone: string;
}

/**
 * Load → normalise → plan → threshold check of a configuration against the live directory, the way a run
 * does it (planFromSource), writing nothing: no run, no users, no log. Source failures are thrown as
 * the run would record them (SourceError, with its hint); an unknown configuration is NOT_FOUND.
 */
export async function dryRunSync(orm: Orm, configurationId: string, options: DryRunOptions): Promise<DryRun> {
  const startedAt = new Date();
  const em = orm.em.fork();
  const configuration = await getConfiguration(em, configurationId);
  const organisation = await getOrganisation(em, configuration.organisation.id);
  const load = options.load ?? ((config, loadOptions) => loadSource(config, options.secretKey, loadOptions));
  const source = await load(configuration, { allowList: options.allowList, signal: options.signal });
  const origin = source.origin;
  const {
    plan,
    rowsRead,
    source: fingerprint,
  } = await planFromSource(orm, configuration, source, {
    onRows: () => options.signal?.throwIfAborted(),
  });
  const limits = {
    thresholdCount: configuration.thresholdCount,
    thresholdPercent: configuration.thresholdPercent,
  };
  const exceeded = checkThreshold(plan, limits);
  const warnings: string[] = [];
  for (const action of plan.actions) {
    if (action.action === 'deactivate') continue;
    for (const warning of action.warnings) {
      if (warnings.length === DRY_RUN_WARNINGS_SHOWN) break;
      warnings.push(warning.message);
    }
    if (warnings.length === DRY_RUN_WARNINGS_SHOWN) break;
  }
  return {
    report: {
      counts: plan.counts,
      threshold: {
        wouldBlock: exceeded !== null,
        planned: plan.counts.deactivated,
        activeManagedUsers: plan.activeManagedUsers,
        limits: { count: limits.thresholdCount, percent: limits.thresholdPercent },
        message: exceeded
          ? `${exceeded.finding} A run would end Above Deactivation Threshold and write nothing.`
          : null,
      },
      source: {
        connector: configuration.connector,
        origin,
        rows: rowsRead,
        fingerprint: fingerprint ?? null,
      },
      warnings,
    },
    plan,
    startedAt,
    timeZone: organisation.timeZone,
  };
}

/** Entries per batch of the would-be log, as the stored log's export reads them. */
const LOG_BATCH = 5_000;

/** The result log a run of the plan would write, as log file entries in batches. */
export async function* dryRunLogBatches(plan: Plan): AsyncGenerator<LogFileEntry[]> {
  let batch: LogFileEntry[] = [];
  let seq = 0;
  for (const action of plan.actions) {
    batch.push({ ...logEntry(action), seq: ++seq, hint: null });
    if (batch.length === LOG_BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
