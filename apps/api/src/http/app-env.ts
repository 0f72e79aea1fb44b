import type { EntityManager, LiveSession } from '@provisioning/db';
import type { RequestIdVariables } from 'hono/request-id';
import type { Logger } from 'pino';

/**
 * What the app's middleware sets on each request, typed for the handlers that read it. It lives apart
 * from app.ts so the middleware and handlers that app.ts mounts need not import app.ts back.
 */
export type AppEnv = {
  Variables: RequestIdVariables & {
    logger: Logger;
    em: EntityManager;
    session: SessionInfo | null;
    clientAddress: string;
  };
};

/** The signed-in account as every procedure and download sees it (read fresh on each request), with its cookie token. */
export interface SessionInfo extends LiveSession {
  token: string;
}
