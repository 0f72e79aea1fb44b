import { DatabaseUrlSchema, parseEnvironment } from '@provisioning/shared';
import { z } from 'zod';

const EnvSchema = z.object({
  /** The server the scratch database is made on. */
  DATABASE_URL: DatabaseUrlSchema.default('postgres://postgres@127.0.0.1:5432/postgres'),
});

/** The only read of process.env by the db package's scripts (`migration:create`). */
export function readScriptEnv(): z.infer<typeof EnvSchema> {
  return parseEnvironment(
    EnvSchema,
    process.env,
    'migration:create cannot start, its environment is not valid',
  );
}
