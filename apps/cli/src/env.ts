import { fileURLToPath } from 'node:url';
import { SecretKeySchema } from '@provisioning/db';
import { PortSchema, parseEnvironment } from '@provisioning/shared';
import { AllowListTextSchema } from '@provisioning/sync';
import { z } from 'zod';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const EnvSchema = z.object({
  /** Unset: the embedded database under PROVISIONING_DATA_DIR. */
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'DATABASE_URL must be a postgres:// URL' })
    .optional(),
  /**
   * `pnpm start` with DATABASE_URL: the API's own login (a role holding only provisioning_api). Unset:
   * the launcher creates API_LOGIN_ROLE with a new random password on each start.
   */
  API_DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'API_DATABASE_URL must be a postgres:// URL' })
    .optional(),
  /** 32 bytes (base64 or hex) sealing configuration secrets; unset with the embedded database: a local key. */
  PROVISIONING_SECRET_KEY: SecretKeySchema.optional(),
  PROVISIONING_DATA_DIR: z.string().min(1).default(`${REPO_ROOT}.data`),
  EMBEDDED_DB_PORT: PortSchema.default(54329),
  API_PORT: PortSchema.default(3000),
  WEB_PORT: PortSchema.default(5173),
  /** The demo's local SFTP server. */
  DEMO_SFTP_PORT: PortSchema.default(2222),
  /** The demo's local Workday tenant and Google Workspace tenant (loopback HTTP). */
  DEMO_WORKDAY_PORT: PortSchema.default(2223),
  DEMO_GOOGLE_PORT: PortSchema.default(2224),
  /** Seed the demo organisation; on by default with the embedded database. */
  DEMO: z.enum(['0', '1', 'true', 'false']).optional(),
  DEBUG: z.string().optional(),
  /** Non-public hosts and CIDR ranges connectors may reach; `config create` warns about others. */
  CONNECTOR_ALLOWED_HOSTS: AllowListTextSchema,
  /** Slack's Web API, which `slack connect` asks about the token; a local fake in tests. */
  SLACK_API_URL: z
    .url({ protocol: /^https?$/, error: 'SLACK_API_URL must be an http(s) URL, e.g. https://slack.com/api/' })
    .default('https://slack.com/api/'),
});

export type Env = z.infer<typeof EnvSchema> & { repoRoot: string };

export function parseEnv(source: Record<string, string | undefined>): Env {
  return { ...parseEnvironment(EnvSchema, source, 'Invalid environment'), repoRoot: REPO_ROOT };
}

/** The only place the CLI and the launcher read process.env. */
export function readEnv(): Env {
  return parseEnv(process.env);
}

/** The environment the launcher hands on to the apps it starts (PATH and the rest), plus their settings. */
export function inheritedEnvironment(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}
