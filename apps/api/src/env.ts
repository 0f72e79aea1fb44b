import {
  DatabaseUrlSchema,
  environmentOrExit,
  LogLevelSchema,
  NodeEnvSchema,
  parseEnvironment,
} from '@provisioning/db';
import { z } from 'zod';

const EnvSchema = z.object({
  DATABASE_URL: DatabaseUrlSchema,
  PORT: z.coerce.number().int().min(1).max(65_535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: LogLevelSchema,
  NODE_ENV: NodeEnvSchema,
});

export type Env = z.infer<typeof EnvSchema>;

export function parseEnv(source: Record<string, string | undefined>): Env {
  return parseEnvironment(EnvSchema, source, 'The API');
}

/** The only read of process.env in this app, done once at start-up; a bad environment exits. */
export function readEnv(): Env {
  return environmentOrExit(() => parseEnv(process.env));
}
