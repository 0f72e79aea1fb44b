import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from '@provisioning/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI_DIR = fileURLToPath(new URL('..', import.meta.url));

/** Resolves with the first line matching `pattern`; rejects if the process exits first. */
function waitForLine(child: ChildProcess, pattern: RegExp, output: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      output.push(line);
      if (pattern.test(line)) resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`launcher exited with ${code}:\n${output.join('\n')}`)));
  });
}

describe('pnpm start on the embedded database', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'provisioning-start-'));
  const output: string[] = [];
  let launcher: ChildProcess;
  let ports: { db: number; api: number; web: number; sftp: number; workday: number; google: number };
  let banner: string;

  beforeAll(async () => {
    ports = {
      db: await freePort(),
      api: await freePort(),
      web: await freePort(),
      sftp: await freePort(),
      workday: await freePort(),
      google: await freePort(),
    };
    const { DATABASE_URL: _ignored, ...env } = process.env;
    launcher = spawn(process.execPath, ['--import', 'tsx', 'src/start-all.ts'], {
      cwd: CLI_DIR,
      env: {
        ...env,
        PROVISIONING_DATA_DIR: dataDir,
        EMBEDDED_DB_PORT: String(ports.db),
        API_PORT: String(ports.api),
        WEB_PORT: String(ports.web),
        DEMO_SFTP_PORT: String(ports.sftp),
        DEMO_WORKDAY_PORT: String(ports.workday),
        DEMO_GOOGLE_PORT: String(ports.google),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await waitForLine(launcher, /Press Ctrl-C to stop/, output);
    banner = output.join('\n');
  }, 180_000);

  afterAll(() => {
    if (launcher.exitCode === null) launcher.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the web URL and one demo account per role with its password', () => {
    expect(banner).toContain(`User Provisioning is running: http://127.0.0.1:${ports.web}`);
    for (const role of [
      'org-admin',
      'people-admin',
      'support-admin',
      'group-admin',
      'content-creator',
      'content-moderator',
      'basic-user',
    ]) {
      expect(banner).toMatch(new RegExp(`${role}@demo\\.example\\s+password: \\S+`));
    }
  });

  it('serves a ready api and the web page', async () => {
    const ready = await fetch(`http://127.0.0.1:${ports.api}/readyz`);
    expect(ready.status).toBe(200);
    const page = await fetch(`http://127.0.0.1:${ports.web}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root">');
  });

  it('has migrated and seeded the embedded database', async () => {
    const client = new pg.Client({
      connectionString: `postgres://postgres:postgres@127.0.0.1:${ports.db}/postgres`,
    });
    await client.connect();
    try {
      const { rows } = await client.query(
        `select o.name, count(a.id)::int as accounts from organisation o join account a on a.organisation_id = o.id group by o.name`,
      );
      expect(rows).toEqual([{ name: 'Demo Company', accounts: 7 }]);
    } finally {
      await client.end();
    }
  });

  it('runs the demo configurations to Success, Needs Attention, Data Load Failed and Above Deactivation Threshold, and its Workday and Google Workspace ones to Success', async () => {
    const client = new pg.Client({
      connectionString: `postgres://postgres:postgres@127.0.0.1:${ports.db}/postgres`,
    });
    await client.connect();
    try {
      const deadline = Date.now() + 120_000;
      let statuses: Record<string, string> = {};
      // The worker picks up the first runs the launcher queued; wait for all six to finish.
      while (Date.now() < deadline) {
        const { rows } = await client.query<{ name: string; status: string }>(
          `select distinct on (c.name) c.name, r.status from sync_run r join sync_configuration c on c.id = r.configuration_id
           where r.status not in ('queued', 'in_progress') order by c.name, r.queued_at`,
        );
        statuses = Object.fromEntries(rows.map((row) => [row.name, row.status]));
        if (Object.keys(statuses).length === 6) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(statuses).toEqual({
        'HR export (SFTP)': 'success',
        'Contractors (SFTP)': 'needs_attention',
        'Payroll export (SFTP)': 'data_load_failed',
        'Acquired company (SFTP)': 'above_deactivation_threshold',
        'All workers (Workday)': 'success',
        'Staff directory (Google Workspace)': 'success',
      });
      // The embedded database takes no COPY: the log went in a chunk per insert, and reads back a line per row.
      const { rows: logs } = await client.query<{ planned: number; lines: number }>(
        `select r.rows_planned as planned, (select count(*)::int from sync_log l where l.run_id = r.id) as lines
         from sync_run r join sync_configuration c on c.id = r.configuration_id
         where c.name = 'HR export (SFTP)' and r.status = 'success' order by r.queued_at limit 1`,
      );
      expect(logs[0]?.lines).toBeGreaterThan(0);
      expect(logs[0]?.lines).toBe(logs[0]?.planned);
    } finally {
      await client.end();
    }
  }, 150_000);

  it('stops api, worker, web and the database on SIGTERM', async () => {
    // 'close' rather than 'exit': the launcher's last lines are read by then.
    const exited = new Promise<number | null>((resolve) => launcher.once('close', (code) => resolve(code)));
    launcher.kill('SIGTERM');
    expect(await exited).toBe(0);
    // A clean stop reads as one: the apps' own shutdown lines, then the launcher's, and no failure report.
    expect(output.at(-1)).toBe('[start] stopped');
    expect(output.join('\n')).not.toMatch(/Command failed|ERR_PNPM|exited \(/);
    const stillServing = await fetch(`http://127.0.0.1:${ports.api}/healthz`).then(
      () => true,
      () => false,
    );
    expect(stillServing).toBe(false);
  }, 60_000);
});
