import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  CONNECTOR_SETTINGS_SCHEMAS,
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

/** Every enabled configuration with a schedule, for the scheduler to test against the current minute. */
export async function listScheduledConfigurations(db: SqlRunner): Promise<ScheduledConfiguration[]> {
  return sql<ScheduledConfiguration>(
    db,
    `select c.id, c.schedule, coalesce(c.schedule_time_zone, o.time_zone) as "timeZone"
     from sync_configuration c join organisation o on o.id = c.organisation_id
     where c.enabled and c.schedule is not null`,
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
    createdAt: configuration.createdAt.toISOString(),
    updatedAt: configuration.updatedAt.toISOString(),
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
