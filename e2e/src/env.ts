import { parseEnvironment } from '@provisioning/shared';
import { z } from 'zod';

const EnvSchema = z.object({
  /** The Chromium to drive; Debian's package puts it here (`.ci/run` installs it). */
  CHROMIUM_PATH: z.string().min(1).default('/usr/bin/chromium'),
  /** Where screenshots and server logs of the browser tests go (git-ignored). */
  E2E_ARTIFACTS_DIR: z.string().min(1).optional(),
});

/**
 * The one read of the environment in the browser tests (`@provisioning/db/testing` reads DATABASE_URL and
 * TEST_DATABASE itself).
 */
export const E2E_ENV = parseEnvironment(
  EnvSchema,
  process.env,
  'The browser tests cannot start, their environment is not valid',
);

/** What the apps the tests start inherit (PATH, HOME and the like), before their own settings. */
export const INHERITED_ENV: Readonly<NodeJS.ProcessEnv> = { ...process.env };
