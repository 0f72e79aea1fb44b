import { z } from 'zod';

/**
 * Parsing of an app's environment, done once at start-up by the app's own `env.ts` (or, for the web app,
 * its dev server config). It takes the variables as an argument and reads no `process`, so it stays
 * browser-safe like the rest of this package.
 */
export class EnvError extends Error {
  override name = 'EnvError';
}

export const DatabaseUrlSchema = z
  .string({
    error: () =>
      'DATABASE_URL is not set. Set it to a PostgreSQL URL (postgres://user@host:5432/database), or run ' +
      '`pnpm start` from the repository root, which starts the embedded database and the apps together.',
  })
  .regex(
    /^postgres(ql)?:\/\/\S+$/,
    'DATABASE_URL must be a PostgreSQL URL starting with postgres:// or postgresql://',
  );

export const LogLevelSchema = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');

export const NodeEnvSchema = z.enum(['development', 'test', 'production']).default('development');

/** A TCP port. The message names the variable because the value, which it never echoes, may be anything. */
export const PortSchema = z.coerce
  .number({ error: (issue) => `${issue.path?.join('.')} must be a port number from 1 to 65535` })
  .int()
  .min(1)
  .max(65_535);

/**
 * METRICS_TOKEN (API and worker): what a scraper not on this machine sends as `Authorization: Bearer
 * <token>`. It must fit in that header as given, so spaces, control and non-ASCII characters are refused.
 */
export const MetricsTokenSchema = z
  .string()
  .regex(
    /^[\x21-\x7e]{16,512}$/,
    'METRICS_TOKEN must be 16 to 512 visible ASCII characters (letters, digits, punctuation; no spaces)',
  );

/**
 * Parses an environment with the app's schema; empty variables count as unset. Throws an EnvError headed
 * by `heading` that lists every bad variable as `NAME: message`, never its value: DATABASE_URL may hold
 * a password.
 */
export function parseEnvironment<S extends z.ZodType>(
  schema: S,
  source: Record<string, string | undefined>,
  heading: string,
): z.output<S> {
  const present = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== ''));
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
  throw new EnvError(`${heading}:\n${problems.join('\n')}`);
}
