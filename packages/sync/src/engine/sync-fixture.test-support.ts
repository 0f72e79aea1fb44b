import { createOrganisation, type Orm } from '@provisioning/db';

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
