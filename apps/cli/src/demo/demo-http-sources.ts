import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type GoogleDirectoryServer,
  generateHrRows,
  googleDirectoryUser,
  type HrRow,
  startGoogleDirectoryServer,
  startWorkdayServer,
  type WorkdayServer,
} from '@provisioning/sample-source';

/** The demo tenant's Integration System User; the demo's Workday configuration signs in with it. */
export const DEMO_WORKDAY_USER = 'ISU_Provisioning';
export const DEMO_WORKDAY_PASSWORD = 'demo-workday-password';
/** The Workspace administrator the demo's service account acts for. */
export const DEMO_GOOGLE_ADMIN = 'admin@workspace.demo.example';

/**
 * Rows of their own for each source, in a domain of their own, so that their people never collide with
 * the SFTP samples' and each source's first run ends Success. Managers stay inside the source.
 */
function sourceRows(count: number, seed: number, domain: string, idPrefix: string): HrRow[] {
  const emailOf = (email: string) => email.replace(/^user\.(\d+)@example\.com$/, `person.$1@${domain}`);
  return generateHrRows(count, seed).map((row, index) => ({
    ...row,
    employee_id: `${idPrefix}${String(index + 1).padStart(5, '0')}`,
    email: emailOf(row.email),
    manager_email: row.manager_email ? emailOf(row.manager_email) : '',
  }));
}

/** A Workday tenant on loopback serving 120 workers, 4 of them terminated (left out by the connector). */
export function startDemoWorkday(port: number): Promise<WorkdayServer> {
  const workers = sourceRows(120, 11, 'workday.demo.example', 'W').map((row, index) => ({
    ...row,
    active: index < 116,
  }));
  return startWorkdayServer({ user: DEMO_WORKDAY_USER, password: DEMO_WORKDAY_PASSWORD, workers, port });
}

/**
 * A Google Workspace tenant on loopback (token endpoint and Directory API) serving 90 users, 3 of them
 * suspended. Its service account key is kept in the data folder, so the stored configuration keeps
 * signing in across restarts.
 */
export function startDemoGoogle(dataDir: string, port: number): Promise<GoogleDirectoryServer> {
  const keyPath = join(dataDir, 'demo-google-service-account.pem');
  if (!existsSync(keyPath)) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  const users = sourceRows(90, 13, 'workspace.demo.example', 'G').map((row, index) => ({
    ...googleDirectoryUser(index + 1, 13, row),
    suspended: index >= 87,
  }));
  return startGoogleDirectoryServer({
    admins: [DEMO_GOOGLE_ADMIN],
    domains: ['workspace.demo.example'],
    users,
    privateKey: readFileSync(keyPath, 'utf8'),
    port,
  });
}
