import { environmentOrExit } from '@provisioning/db';
import {
  DatabaseUrlSchema,
  LogLevelSchema,
  MetricsTokenSchema,
  NodeEnvSchema,
  PortSchema,
  parseEnvironment,
} from '@provisioning/shared';
import { z } from 'zod';

/** The longest an open live feed goes on after its access ended, when no run change makes it look sooner. */
export const LIVE_ACCESS_CHECK_INTERVAL_MS_DEFAULT = 30_000;

const EnvSchema = z.object({
  DATABASE_URL: DatabaseUrlSchema,
  PORT: PortSchema.default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: LogLevelSchema,
  NODE_ENV: NodeEnvSchema,
  /**
   * Origins besides the API's own that may send it mutations (sign-in, sign-out), comma-separated:
   * a web app served from another origin. The Vite dev server proxies, so it needs none.
   */
  TRUSTED_ORIGINS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const origins = value
        .split(',')
        .map((origin) => origin.trim())
        .filter((origin) => origin.length > 0);
      for (const origin of origins) {
        let parsed: URL | undefined;
        try {
          parsed = new URL(origin);
        } catch {}
        if (!parsed || parsed.origin !== origin) {
          ctx.addIssue({
            code: 'custom',
            message: `TRUSTED_ORIGINS: "${origin}" is not an origin such as https://admin.example.com`,
          });
        }
      }
      return origins;
    }),
  /** Take the client's address from X-Forwarded-For (only behind a proxy that sets it). */
  TRUST_PROXY: z
    .enum(['true', 'false'], { error: () => 'TRUST_PROXY must be true or false' })
    .default('false')
    .transform((value) => value === 'true'),
  /**
   * With TRUST_PROXY, how many proxies in front of the API append to X-Forwarded-For: the client's
   * address is the entry that many from the right (the left-most entries are whatever the client sent).
   */
  TRUSTED_PROXY_HOPS: z.coerce
    .number({ error: () => 'TRUSTED_PROXY_HOPS must be a whole number from 1 to 10' })
    .int('TRUSTED_PROXY_HOPS must be a whole number from 1 to 10')
    .min(1, 'TRUSTED_PROXY_HOPS must be a whole number from 1 to 10')
    .max(10, 'TRUSTED_PROXY_HOPS must be a whole number from 1 to 10')
    .default(1),
  /**
   * The database's connections share one session (the embedded database, set by `pnpm start`): the API
   * then switches to its own role per transaction only, never for the whole connection.
   */
  DATABASE_SHARED_SESSION: z
    .enum(['true', 'false'], { error: () => 'DATABASE_SHARED_SESSION must be true or false' })
    .default('false')
    .transform((value) => value === 'true'),
  /** How often open live views poll for run changes when PostgreSQL notifications cannot reach the API. */
  LIVE_POLL_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(500),
  /**
   * How often an open live feed reads its session again while no run change makes it: the longest it
   * goes on after a sign-out or a lost permission. At most 30 s; tests set it short.
   */
  LIVE_ACCESS_CHECK_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(30_000)
    .default(LIVE_ACCESS_CHECK_INTERVAL_MS_DEFAULT),
  /** Log exports one session may run at once; more are refused with 429 until one ends. */
  LOG_DOWNLOADS_PER_SESSION: z.coerce.number().int().min(1).max(100).default(2),
  /** Log exports this process runs at once, all sessions together: exports cost CPU and memory. */
  LOG_DOWNLOADS_PER_PROCESS: z.coerce.number().int().min(1).max(1000).default(4),
  /** A log download whose client reads nothing for this long is dropped, freeing its slot. */
  LOG_DOWNLOAD_STALL_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /** Lets a scraper that is not on this machine read /metrics, with `Authorization: Bearer <token>`. */
  METRICS_TOKEN: MetricsTokenSchema.optional(),
  /** How long open requests get to finish on SIGTERM before the process exits anyway (with code 1). */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
});

export type Env = z.infer<typeof EnvSchema>;

export function parseEnv(source: Record<string, string | undefined>): Env {
  return parseEnvironment(EnvSchema, source, 'The API cannot start, its environment is not valid');
}

/** The only read of process.env in this app, done once at start-up; a bad environment exits. */
export function readEnv(): Env {
  return environmentOrExit(() => parseEnv(process.env));
}
