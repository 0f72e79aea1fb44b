import { z } from 'zod';
import { parseSecretKey } from './secret-box.ts';

/** Parsing of each app's environment, done once at start-up by the app's own `env.ts`. */
export class EnvError extends Error {
  override name = 'EnvError';
}

export const DatabaseUrlSchema = z
  .string({
    error: () =>
      'is not set. Set it to a PostgreSQL URL (postgres://user@host:5432/database), or run `pnpm start` ' +
      'from the repository root, which starts the embedded database and the apps together.',
  })
  .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a PostgreSQL URL starting with postgres:// or postgresql://');

export const LogLevelSchema = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');

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

export const NodeEnvSchema = z.enum(['development', 'test', 'production']).default('development');

/**
 * Parses an environment with the app's schema; empty variables count as unset. Throws an EnvError naming
 * every bad variable, never its value: DATABASE_URL may hold a password.
 */
export function parseEnvironment<S extends z.ZodType>(
  schema: S,
  source: Record<string, string | undefined>,
  who: string,
): z.output<S> {
  const present = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== ''));
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `  ${issue.path.join('.')} ${issue.message}`);
  throw new EnvError(`${who} cannot start, its environment is not valid:\n${problems.join('\n')}`);
}

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
