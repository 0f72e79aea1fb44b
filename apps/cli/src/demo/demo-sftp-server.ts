import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSshKeyPair, type SftpServer, startSftpServer } from '@provisioning/sample-source';
import { writeSampleFiles } from './sample-files.ts';

/** The demo server's one account; the demo configurations log in with it. */
export const DEMO_SFTP_USER = 'demo';
export const DEMO_SFTP_PASSWORD = 'demo-sftp-password';

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
    username: DEMO_SFTP_USER,
    password: DEMO_SFTP_PASSWORD,
    hostKey: readFileSync(keyPath, 'utf8'),
    port,
  });
}
