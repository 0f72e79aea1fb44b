import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  CONNECTOR_SETTINGS_SCHEMAS,
  type ConfigurationPauseInput,
  ConfigurationPauseInputSchema,
  type ConnectorSettings,
  DomainError,
  parseInput,
  type SyncConfigurationInput,
  SyncConfigurationInputSchema,
  splitSecrets,
} from '@provisioning/shared';
import { SyncConfiguration } from '../entities/index.ts';
import { openSecrets, sealSecrets } from '../secret-box.ts';
import { escapeLike, flushOrConflict, isUuid, type SqlRunner, sql } from './common.ts';
import { getOrganisation } from './organisation.repository.ts';

export async function createConfiguration(
  em: EntityManager,
  organisationId: string,
  input: SyncConfigurationInput,
  secretKey: Buffer,
): Promise<SyncConfiguration> {
  const data = parseInput(SyncConfigurationInputSchema, input, 'Configuration');
  const settings = parseInput(
    CONNECTOR_SETTINGS_SCHEMAS[data.connector],
    data.settings,
    `${data.connector} settings`,
  );
  const organisation = await getOrganisation(em, organisationId);
  const taken = await em.count(SyncConfiguration, { organisation, name: { $ilike: escapeLike(data.name) } });
  if (taken > 0) {
    throw new DomainError(
      'CONFLICT',
      `A configuration named "${data.name}" already exists in this organisation`,
    );
  }
  const id = randomUUID();
  const { plain, secrets } = splitSecrets(data.connector, settings);
  const configuration = em.create(SyncConfiguration, {
    id,
    organisation,
    name: data.name,
    connector: data.connector,
    settings: plain,
    secrets:
      Object.keys(secrets).length > 0
        ? sealSecrets(secretKey, { organisationId: organisation.id, configurationId: id }, secrets)
        : null,
    mapping: data.mapping,
    schedule: data.schedule,
    scheduleTimeZone: data.schedule ? (data.scheduleTimeZone ?? organisation.timeZone) : null,
    thresholdCount: data.thresholdCount,
    thresholdPercent: data.thresholdPercent,
    enabled: data.enabled,
    alertAfterFailures: data.alertAfterFailures,
    pauseAfterFailures: data.pauseAfterFailures,
  });
  await flushOrConflict(em, `A configuration named "${data.name}" already exists in this organisation`);
  return configuration;
}

export async function getConfiguration(em: EntityManager, id: string): Promise<SyncConfiguration> {
  const configuration = isUuid(id) ? await em.findOne(SyncConfiguration, { id }) : null;
  if (!configuration) throw new DomainError('NOT_FOUND', `Configuration ${id} not found`);
  return configuration;
}

export async function listConfigurations(
  em: EntityManager,
  organisationId: string,
): Promise<SyncConfiguration[]> {
  const organisation = await getOrganisation(em, organisationId);
  return em.find(SyncConfiguration, { organisation }, { orderBy: { name: 'asc' } });
}

/** Names by ID, for warnings about users another configuration manages ("managed by configuration "HR""). */
export async function configurationNamesOf(
  db: SqlRunner,
  organisationId: string,
): Promise<Map<string, string>> {
  const rows = await sql<{ id: string; name: string }>(
    db,
    'select id, name from sync_configuration where organisation_id = ?',
    [organisationId],
  );
  return new Map(rows.map((row) => [row.id, row.name]));
}

export interface ScheduledConfiguration {
  id: string;
  schedule: string;
  /** The zone the schedule is read in: its own, else the organisation's. */
  timeZone: string;
}

/**
 * Every enabled configuration with a schedule that is not paused (circuit breaker, or support), for the
 * scheduler to test against the current minute.
 */
export async function listScheduledConfigurations(db: SqlRunner): Promise<ScheduledConfiguration[]> {
  return sql<ScheduledConfiguration>(
    db,
    `select c.id, c.schedule, coalesce(c.schedule_time_zone, o.time_zone) as "timeZone"
     from sync_configuration c join organisation o on o.id = c.organisation_id
     where c.enabled and c.schedule is not null and c.paused_at is null`,
  );
}

/** What support and the API may see of a configuration: never the secrets, only whether there are any. */
export function configurationView(configuration: SyncConfiguration) {
  return {
    id: configuration.id,
    organisationId: configuration.organisation.id,
    name: configuration.name,
    connector: configuration.connector,
    settings: configuration.settings,
    hasSecrets: configuration.secrets !== null && configuration.secrets !== undefined,
    mapping: configuration.mapping,
    schedule: configuration.schedule,
    scheduleTimeZone: configuration.scheduleTimeZone,
    thresholdCount: configuration.thresholdCount,
    thresholdPercent: configuration.thresholdPercent,
    enabled: configuration.enabled,
    consecutiveFailures: configuration.consecutiveFailures,
    alertAfterFailures: configuration.alertAfterFailures,
    pauseAfterFailures: configuration.pauseAfterFailures,
    /** The failure streak has reached the alert: support should look at it. */
    failing: configuration.consecutiveFailures >= configuration.alertAfterFailures,
    paused: configuration.pausedAt !== null && configuration.pausedAt !== undefined,
    pausedAt: configuration.pausedAt ? configuration.pausedAt.toISOString() : null,
    pausedReason: configuration.pausedReason ?? null,
    createdAt: configuration.createdAt.toISOString(),
    updatedAt: configuration.updatedAt.toISOString(),
  };
}

export interface ConfigurationPause {
  id: string;
  pausedAt: string;
  pausedReason: string;
}

/**
 * Support pauses a configuration's schedule (`config pause`): the scheduler queues no runs of it until it
 * is resumed; manual runs still work. Refused, changing nothing, when it is paused already.
 */
export async function pauseConfiguration(
  db: SqlRunner,
  id: string,
  input: ConfigurationPauseInput,
): Promise<ConfigurationPause> {
  const { reason } = parseInput(ConfigurationPauseInputSchema, input, 'Pause');
  const [row] = isUuid(id)
    ? await sql<{ id: string; paused_at: Date }>(
        db,
        `update sync_configuration set paused_at = now(), paused_reason = ?
         where id = ? and paused_at is null returning id, paused_at`,
        [reason, id],
      )
    : [];
  if (row) return { id: row.id, pausedAt: new Date(row.paused_at).toISOString(), pausedReason: reason };
  const current = await pauseStateOf(db, id);
  throw new DomainError(
    'CONFLICT',
    `Configuration ${id} is already paused since ${current.pausedAt} (${current.pausedReason}); resume it first to pause it for another reason`,
  );
}

/**
 * Support resumes a paused configuration (`config resume`): the pause and the failure streak are cleared,
 * so the next failures count from zero. Refused, changing nothing, when it is not paused.
 */
export async function resumeConfiguration(
  db: SqlRunner,
  id: string,
): Promise<{ id: string; resumedFrom: ConfigurationPause & { consecutiveFailures: number } }> {
  const [row] = isUuid(id)
    ? await sql<{ paused_at: Date; paused_reason: string | null; consecutive_failures: number }>(
        db,
        // The old values, from the row as the update found it (locked by the update itself).
        `update sync_configuration c set paused_at = null, paused_reason = null, consecutive_failures = 0
         from (select id, paused_at, paused_reason, consecutive_failures from sync_configuration
               where id = ? and paused_at is not null for update) old
         where c.id = old.id
         returning old.paused_at, old.paused_reason, old.consecutive_failures`,
        [id],
      )
    : [];
  if (row) {
    return {
      id,
      resumedFrom: {
        id,
        pausedAt: new Date(row.paused_at).toISOString(),
        pausedReason: row.paused_reason ?? '',
        consecutiveFailures: row.consecutive_failures,
      },
    };
  }
  await pauseStateOf(db, id);
  throw new DomainError('CONFLICT', `Configuration ${id} is not paused: there is nothing to resume`);
}

/** A configuration's pause, to explain a refusal; NOT_FOUND for an unknown ID. */
async function pauseStateOf(
  db: SqlRunner,
  id: string,
): Promise<{ pausedAt: string | null; pausedReason: string | null }> {
  const [row] = isUuid(id)
    ? await sql<{ paused_at: Date | null; paused_reason: string | null }>(
        db,
        'select paused_at, paused_reason from sync_configuration where id = ?',
        [id],
      )
    : [];
  if (!row) throw new DomainError('NOT_FOUND', `Configuration ${id} not found`);
  return {
    pausedAt: row.paused_at ? new Date(row.paused_at).toISOString() : null,
    pausedReason: row.paused_reason,
  };
}

/** The configuration's full connector settings with its secrets opened, for the connector that runs it. */
export function connectorSettings<C extends SyncConfiguration['connector']>(
  configuration: SyncConfiguration & { connector: C },
  secretKey: Buffer,
): ConnectorSettings[C] {
  const secrets = configuration.secrets
    ? openSecrets(
        secretKey,
        { organisationId: configuration.organisation.id, configurationId: configuration.id },
        configuration.secrets,
      )
    : {};
  return CONNECTOR_SETTINGS_SCHEMAS[configuration.connector].parse({
    ...configuration.settings,
    ...secrets,
  }) as ConnectorSettings[C];
}
