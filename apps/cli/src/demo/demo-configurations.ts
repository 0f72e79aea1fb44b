/**
 * Demo mode of `pnpm start`: a local SFTP server serving sample HR files, and four configurations against
 * it whose runs end Success, Needs Attention, Data Load Failed and Above Deactivation Threshold, every
 * two minutes, with a first run of each queued at once.
 */
import {
  createBoss,
  createConfiguration,
  ensureQueues,
  type Orm,
  SyncConfiguration,
  sql,
  triggerRun,
} from '@provisioning/db';
import type { SftpServer } from '@provisioning/sample-source';
import { DEMO_SFTP_PASSWORD, DEMO_SFTP_USER } from './demo-sftp-server.ts';

export const DEMO_SCHEDULE = '*/2 * * * *';

interface DemoConfiguration {
  name: string;
  path: string;
  thresholdCount: number;
}

const DEMO_CONFIGURATIONS: DemoConfiguration[] = [
  { name: 'HR export (SFTP)', path: '/outbound/employees_*.csv', thresholdCount: 500 },
  { name: 'Contractors (SFTP)', path: '/outbound/contractors.csv', thresholdCount: 500 },
  { name: 'Payroll export (SFTP)', path: '/outbound/payroll_*.csv', thresholdCount: 500 },
  { name: 'Acquired company (SFTP)', path: '/outbound/acquired.csv', thresholdCount: 10 },
];

/**
 * Creates the demo configurations once (pinned to the demo server's fingerprint), gives the acquired
 * company's configuration the 150 users it used to have, and queues a first run of each.
 */
export async function seedDemoConfigurations(
  orm: Orm,
  databaseUrl: string,
  organisationId: string,
  secretKey: Buffer,
  sftp: SftpServer,
): Promise<void> {
  const em = orm.em.fork();
  const ids: string[] = [];
  for (const demo of DEMO_CONFIGURATIONS) {
    const existing = await em.findOne(SyncConfiguration, { organisation: organisationId, name: demo.name });
    const configuration =
      existing ??
      (await createConfiguration(
        em,
        organisationId,
        {
          name: demo.name,
          connector: 'sftp',
          settings: {
            host: sftp.host,
            port: sftp.port,
            username: DEMO_SFTP_USER,
            password: DEMO_SFTP_PASSWORD,
            hostFingerprint: sftp.hostFingerprint,
            path: demo.path,
          },
          mapping: {},
          schedule: DEMO_SCHEDULE,
          scheduleTimeZone: null,
          thresholdCount: demo.thresholdCount,
          thresholdPercent: 20,
          enabled: true,
        },
        secretKey,
      ));
    ids.push(configuration.id);
    if (!existing && demo.thresholdCount === 10) {
      await sql(
        orm.em,
        `insert into directory_user (id, organisation_id, external_id, email, first_name, last_name, department,
           status, managed_by_id, created_at, updated_at)
         select gen_random_uuid(), ?, 'A' || lpad(n::text, 5, '0'), 'acquired.' || n || '@demo.example',
           'Former', 'Colleague ' || n, 'Acquired', 'active', ?, now(), now()
         from generate_series(1, 150) as n`,
        [organisationId, configuration.id],
      );
    }
  }
  const boss = createBoss(databaseUrl, { max: 2, supervise: false, schedule: false });
  await boss.start();
  try {
    await ensureQueues(boss);
    for (const id of ids) await triggerRun(orm, boss, id, 'schedule');
  } finally {
    await boss.stop({ graceful: false, wait: true });
  }
}
