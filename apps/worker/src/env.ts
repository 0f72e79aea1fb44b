import { environmentOrExit, SecretKeySchema } from '@provisioning/db';
import {
  DatabaseUrlSchema,
  LogLevelSchema,
  MetricsTokenSchema,
  NodeEnvSchema,
  PortSchema,
  parseEnvironment,
  RUN_STALE_AFTER_SECONDS,
} from '@provisioning/shared';
import { AllowListTextSchema, parseAllowList } from '@provisioning/sync';
import { z } from 'zod';

const EnvSchema = z.object({
  DATABASE_URL: DatabaseUrlSchema,
  LOG_LEVEL: LogLevelSchema,
  /** Opens connector secrets; the same key the CLI sealed them with. */
  PROVISIONING_SECRET_KEY: SecretKeySchema,
  /** Jobs of each queue this process works on at once, except sync runs (SYNC_RUN_CONCURRENCY). */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  /**
   * Sync runs this process works on at once. A run's reading and planning is JavaScript on the process's
   * one thread: two runs in one process share one core and each takes twice as long, so the default is
   * one, and more runs at once come from more worker processes (one per core).
   */
  SYNC_RUN_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(1),
  NODE_ENV: NodeEnvSchema,
  /** Non-public hosts and CIDR ranges connectors may reach (an SFTP server inside the network). */
  CONNECTOR_ALLOWED_HOSTS: AllowListTextSchema.transform(parseAllowList),
  /**
   * Where the worker serves /healthz, /readyz and /metrics; 0 picks a free port. Unset: 3002, or a free
   * port when another worker on this machine has it (workers scale out side by side).
   */
  WORKER_HTTP_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  WORKER_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  /** Lets a scraper that is not on this machine read /metrics, with `Authorization: Bearer <token>`. */
  METRICS_TOKEN: MetricsTokenSchema.optional(),
  /**
   * Seconds without a heartbeat (sent every 5 s while a run makes progress) after which a run's worker is
   * presumed dead and the reaper hands the run to another worker. Every worker should have the same.
   */
  RUN_STALE_AFTER_SECONDS: z.coerce.number().int().min(15).max(3600).default(RUN_STALE_AFTER_SECONDS),
  /** /readyz fails above this many jobs waiting in the sync-run queue. */
  READY_MAX_QUEUE: z.coerce.number().int().min(1).default(1000),
  /** /readyz fails when the oldest queued run has waited longer than this. */
  READY_MAX_QUEUED_WAIT_SECONDS: z.coerce.number().int().min(10).default(600),
  /** The Slack app's signing secret (Basic Information → App Credentials). Unset: no `/sync-logs`. */
  SLACK_SIGNING_SECRET: z.string().trim().min(1).optional(),
  /** Where Slack's requests (`/sync-logs`, buttons) are received. */
  SLACK_PORT: PortSchema.default(3100),
  /** Slack's Web API; a local fake in tests. */
  SLACK_API_URL: z
    .url({ protocol: /^https?$/, error: 'SLACK_API_URL must be an http(s) URL, e.g. https://slack.com/api/' })
    .default('https://slack.com/api/')
    .transform((url) => (url.endsWith('/') ? url : `${url}/`)),
  /** The admin panel's address, for the links in Slack messages. */
  PUBLIC_WEB_URL: z
    .url({ protocol: /^https?$/, error: 'PUBLIC_WEB_URL must be the admin panel’s http(s) address' })
    .default('http://localhost:5173')
    .transform((url) => url.replace(/\/+$/, '')),
});

export type Env = z.infer<typeof EnvSchema>;

export function parseEnv(source: Record<string, string | undefined>): Env {
  return parseEnvironment(EnvSchema, source, 'The worker cannot start, its environment is not valid');
}

/** The only read of process.env in this app, done once at start-up; a bad environment exits. */
export function readEnv(): Env {
  return environmentOrExit(() => parseEnv(process.env));
}
