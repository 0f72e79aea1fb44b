import { PortSchema, parseEnvironment } from '@provisioning/shared';
import { z } from 'zod';

/**
 * The settings of the web app's dev and preview servers, read once by vite.config.ts. The page itself
 * never sees them: it reaches the API through the dev server's proxy, or from the API's own origin.
 */
const EnvSchema = z.object({
  PORT: PortSchema.default(5173),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Where the dev server proxies `/trpc`, `/api`, `/healthz` and `/readyz`. */
  API_URL: z
    .url({ protocol: /^https?$/, error: 'API_URL must be an http:// or https:// URL' })
    .default('http://127.0.0.1:3000'),
});

export type Env = z.infer<typeof EnvSchema>;

export function parseEnv(source: Record<string, string | undefined>): Env {
  return parseEnvironment(EnvSchema, source, 'The web server cannot start, its environment is not valid');
}

/** The only read of process.env for the web app (its build config, not the page). */
export function readEnv(): Env {
  return parseEnv(process.env);
}
