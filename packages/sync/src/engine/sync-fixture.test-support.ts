import { createConfiguration, createOrganisation, type Orm } from '@provisioning/db';

/** For tests and benchmarks of runSync: an organisation on the User Sync Service, provisioning on. */
export async function createTestOrganisation(orm: Orm, name: string, timeZone = 'UTC'): Promise<string> {
  const organisation = await createOrganisation(orm.em.fork(), {
    name,
    timeZone,
    provisioningEnabled: true,
    syncService: 'user-sync',
  });
  return organisation.id;
}

/** A queued run row with no pg-boss job: runSync is then called on it directly, as the worker would. */
export async function queueRunRow(
  orm: Orm,
  organisationId: string,
  configurationId: string,
): Promise<string> {
  const [row] = await orm.em.getConnection().execute<{ id: string }[]>(
    `insert into sync_run (id, organisation_id, configuration_id, status, trigger, queued_at)
     values (gen_random_uuid(), ?, ?, 'queued', 'manual', now()) returning id`,
    [organisationId, configurationId],
  );
  return (row as { id: string }).id;
}

/**
 * An SFTP configuration of the organisation that tests and benchmarks never fetch from: they hand
 * runSync the rows (`load`). Threshold limits as given, else the defaults.
 */
export async function createUnfetchedConfiguration(
  orm: Orm,
  organisationId: string,
  secretKey: Buffer,
  options: { name?: string; thresholdCount?: number; thresholdPercent?: number } = {},
): Promise<string> {
  const configuration = await createConfiguration(
    orm.em.fork(),
    organisationId,
    {
      name: options.name ?? 'HR export',
      connector: 'sftp',
      settings: {
        host: 'sftp.example.com',
        username: 'bench',
        password: 'bench-password',
        hostFingerprint: `SHA256:${'A'.repeat(43)}`,
        path: '/outbound/employees.csv',
      },
      mapping: {},
      schedule: null,
      scheduleTimeZone: null,
      thresholdCount: options.thresholdCount ?? 500,
      thresholdPercent: options.thresholdPercent ?? 20,
      enabled: true,
    },
    secretKey,
  );
  return configuration.id;
}
