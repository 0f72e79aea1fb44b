/**
 * Demo mode of `pnpm start`: a local SFTP server serving sample HR files, and four configurations against
 * it whose runs end Success, Needs Attention, Data Load Failed and Above Deactivation Threshold, every
 * two minutes, with a first run of each queued at once.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createBoss,
  createConfiguration,
  ensureQueues,
  type Orm,
  SyncConfiguration,
  triggerRun,
} from '@provisioning/db';
import {
  generateHrRows,
  generateSshKeyPair,
  type HrRow,
  type SftpServer,
  startSftpServer,
  writeHrCsv,
} from '@provisioning/testkit';

const SFTP_USER = 'demo';
const SFTP_PASSWORD = 'demo-sftp-password';
export const DEMO_SCHEDULE = '*/2 * * * *';

/** Serves `<dataDir>/demo-sftp` on loopback with a host key kept there, so its fingerprint stays pinned. */
export async function startDemoSftp(dataDir: string, port: number): Promise<SftpServer> {
  const root = join(dataDir, 'demo-sftp');
  const outbound = join(root, 'outbound');
  mkdirSync(outbound, { recursive: true });
  const keyPath = join(dataDir, 'demo-sftp-host-key');
  if (!existsSync(keyPath)) writeFileSync(keyPath, generateSshKeyPair().privateKey, { mode: 0o600 });
  await writeSampleFiles(outbound);
  return startSftpServer({
    root,
    username: SFTP_USER,
    password: SFTP_PASSWORD,
    hostKey: readFileSync(keyPath, 'utf8'),
    port,
  });
}

function renumber(rows: HrRow[], prefix: string, idPrefix: string): HrRow[] {
  return rows.map((row, i) => ({
    ...row,
    employee_id: `${idPrefix}${String(i + 1).padStart(5, '0')}`,
    email: `${prefix}.${i + 1}@demo.example`,
    manager_email: '',
  }));
}

async function writeSampleFiles(outbound: string): Promise<void> {
  // A clean export: every row valid, managers inside the file.
  await writeHrCsv(join(outbound, 'employees_20240115.csv'), { rows: 200, seed: 3 });
  // Contractors: two invalid emails and one email twice (in another case) → Needs Attention.
  const contractors = renumber(generateHrRows(60, 5), 'contractor', 'C');
  (contractors[7] as HrRow).email = 'not-an-email';
  (contractors[19] as HrRow).email = 'contractor.20@demo';
  (contractors[33] as HrRow).email = 'CONTRACTOR.12@demo.example';
  await writeHrCsv(join(outbound, 'contractors.csv'), { rows: contractors });
  // An acquired company's feed that lost most of its people: far above its deactivation threshold.
  await writeHrCsv(join(outbound, 'acquired.csv'), {
    rows: renumber(generateHrRows(80, 9), 'acquired', 'A'),
  });
}

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
            username: SFTP_USER,
            password: SFTP_PASSWORD,
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
      await orm.em.getConnection().execute(
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
