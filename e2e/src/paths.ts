import { fileURLToPath } from 'node:url';
import { E2E_ENV } from './env.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const API_DIR = fileURLToPath(new URL('../../apps/api', import.meta.url));
export const CLI_DIR = fileURLToPath(new URL('../../apps/cli', import.meta.url));
export const WORKER_DIR = fileURLToPath(new URL('../../apps/worker', import.meta.url));
export const WEB_DIST = fileURLToPath(new URL('../../apps/web/dist', import.meta.url));
/** Screenshots, server logs and downloads of the browser tests (git-ignored). */
export const ARTIFACTS_DIR =
  E2E_ENV.E2E_ARTIFACTS_DIR ?? fileURLToPath(new URL('../test-artifacts', import.meta.url));
