import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS_DIR, REPO_ROOT, WEB_DIST } from './paths.ts';

/** The newest modification time of a file under `path`. */
function newest(path: string): number {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  let latest = 0;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    latest = Math.max(latest, newest(join(path, entry)));
  }
  return latest;
}

/**
 * The tests load the page the API serves in production: the built web app. `pnpm test` builds it first
 * (turbo), but a test run on its own may find none or an old one; then it is built here.
 */
export default function buildWebAppIfStale() {
  // Downloads of an earlier run would only confuse whoever reads the artifacts.
  rmSync(join(ARTIFACTS_DIR, 'downloads'), { recursive: true, force: true });
  const web = join(REPO_ROOT, 'apps/web');
  const sources = [
    join(web, 'src'),
    join(web, 'index.html'),
    join(web, 'vite.config.ts'),
    join(web, 'env.ts'),
    join(REPO_ROOT, 'packages/shared/src'),
  ];
  const index = join(WEB_DIST, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...sources.map(newest))) return;
  process.stdout.write('[e2e] building the web app (apps/web/dist is missing or older than its sources)\n');
  const vite = join(web, 'node_modules/vite/bin/vite.js');
  const result = spawnSync(
    process.execPath,
    [vite, 'build', '--configLoader', 'runner', '--logLevel', 'warn'],
    {
      cwd: web,
      stdio: 'inherit',
    },
  );
  if (result.status !== 0) throw new Error('building the web app failed');
}
