import { EnvError } from '@provisioning/shared';
import { z } from 'zod';
import { parseSecretKey } from './secret-box.ts';

/**
 * The server-only parts of the apps' environments; parsing itself is `parseEnvironment` in
 * @provisioning/shared, which the web app's dev server config uses too.
 */

/** PROVISIONING_SECRET_KEY: 32 bytes as base64 or hex, sealing connector secrets. */
export const SecretKeySchema = z
  .string()
  .min(1)
  .refine((value) => {
    try {
      parseSecretKey(value);
      return true;
    } catch {
      return false;
    }
  }, 'must be 32 bytes, as 64 hex characters or base64 (e.g. `openssl rand -base64 32`)');

/** For an app's start-up: the parsed environment, or its problems on stderr and exit code 1. */
export function environmentOrExit<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof EnvError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
