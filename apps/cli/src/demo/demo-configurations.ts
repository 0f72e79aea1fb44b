/**
 * Demo mode of `pnpm start`: a local SFTP server serving sample HR files, with four configurations whose
 * runs end Success, Needs Attention, Data Load Failed and Above Deactivation Threshold, and a local Workday
 * tenant and Google Workspace tenant with one configuration each (Success), all every two minutes, with a
 * first run of each queued at once.
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
import type { GoogleDirectoryServer, SftpServer, WorkdayServer } from '@provisioning/sample-source';
import type { SyncConfigurationInput } from '@provisioning/shared';
import { DEMO_GOOGLE_ADMIN, DEMO_WORKDAY_PASSWORD, DEMO_WORKDAY_USER } from './demo-http-sources.ts';
import { DEMO_SFTP_PASSWORD, DEMO_SFTP_USER } from './demo-sftp-server.ts';

export const DEMO_SCHEDULE = '*/2 * * * *';

interface DemoConfiguration {
  name: string;
  connector: SyncConfigurationInput['connector'];
  settings: Record<string, unknown>;
  thresholdCount: number;
}

/** The local sources the demo configurations read. */
export interface DemoSources {
  sftp: SftpServer;
  workday: WorkdayServer;
  google: GoogleDirectoryServer;
}

function demoConfigurations({ sftp, workday, google }: DemoSources): DemoConfiguration[] {
  const sftpFile = (name: string, path: string, thresholdCount = 500): DemoConfiguration => ({
    name,
    connector: 'sftp',
    settings: {
      host: sftp.host,
      port: sftp.port,
      username: DEMO_SFTP_USER,
      password: DEMO_SFTP_PASSWORD,
      hostFingerprint: sftp.hostFingerprint,
      path,
    },
    thresholdCount,
  });
  return [
    sftpFile('HR export (SFTP)', '/outbound/employees_*.csv'),
    sftpFile('Contractors (SFTP)', '/outbound/contractors.csv'),
    sftpFile('Payroll export (SFTP)', '/outbound/payroll_*.csv'),
    sftpFile('Acquired company (SFTP)', '/outbound/acquired.csv', 10),
    {
      name: 'All workers (Workday)',
      connector: 'workday',
      settings: {
        reportUrl: workday.reportUrl,
        username: DEMO_WORKDAY_USER,
        password: DEMO_WORKDAY_PASSWORD,
      },
      thresholdCount: 500,
    },
    {
      name: 'Staff directory (Google Workspace)',
      connector: 'google-workspace',
      settings: {
        adminEmail: DEMO_GOOGLE_ADMIN,
        serviceAccountEmail: google.serviceAccount.clientEmail,
        privateKey: google.serviceAccount.privateKey,
        tokenUrl: google.tokenUrl,
        apiBaseUrl: google.apiBaseUrl,
      },
      thresholdCount: 500,
    },
  ];
}

/**
 * Creates the demo configurations once (pinned to the demo server's fingerprint), gives the acquired
 * company's configuration the 150 users it used to have, and queues a first run of each.
 */
export async function seedDemoConfigurations(
  orm: Orm,
  databaseUrl: string,
  organisationId: string,
  secretKey: Buffer,
  sources: DemoSources,
): Promise<void> {
  const em = orm.em.fork();
  const ids: string[] = [];
  for (const demo of demoConfigurations(sources)) {
    const existing = await em.findOne(SyncConfiguration, { organisation: organisationId, name: demo.name });
    const configuration =
      existing ??
      (await createConfiguration(
        em,
        organisationId,
        {
          name: demo.name,
          connector: demo.connector,
          settings: demo.settings,
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
