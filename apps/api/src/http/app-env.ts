import type { EntityManager } from '@provisioning/db';
import type { RequestIdVariables } from 'hono/request-id';
import type { Logger } from 'pino';
import type { RequestSession } from './request-session.ts';

/**
 * What the app's middleware sets on each request, typed for the handlers that read it. It lives apart
 * from app.ts so the middleware and handlers that app.ts mounts need not import app.ts back.
 */
export type AppEnv = {
  Variables: RequestIdVariables & {
    logger: Logger;
    em: EntityManager;
    /** The cookie's session, read when a handler first needs it. */
    session: RequestSession;
    clientAddress: string;
  };
};
