import { checkAccess, type Permission } from '@provisioning/shared';
import type { SessionInfo } from '../http/app-env.ts';
import { loadSession } from '../http/session.ts';
import { AccessDeniedError, baseProcedure, TRPCError } from './trpc.ts';

function requireSession(session: SessionInfo | null): SessionInfo {
  if (!session) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in to continue.' });
  return session;
}

/** Throws the refusal a call gets: UNAUTHORIZED without a session, the table's reason without access. */
function requireAccess(session: SessionInfo | null, permission: Permission): void {
  const access = checkAccess(requireSession(session), permission);
  if (!access.allowed) throw new AccessDeniedError(access.reason);
}

/** Anyone, signed in or not. */
export const publicProcedure = baseProcedure;

/** A signed-in account; its organisation is the only one it ever sees. */
export const authedProcedure = baseProcedure.use(({ ctx, next }) =>
  next({ ctx: { ...ctx, session: requireSession(ctx.session) } }),
);

/** A signed-in account that the shared permission table allows `permission`. */
export function procedureFor(permission: Permission) {
  return authedProcedure.use(({ ctx, next }) => {
    requireAccess(ctx.session, permission);
    const { token } = ctx.session;
    return next({
      ctx: {
        /**
         * For a call that outlives its request (the live feed): reads the session again and applies this
         * same check, throwing what a new request would get once the session ended or access changed.
         * It does not extend the session: an open page is not someone using it.
         */
        recheckAccess: async (): Promise<void> => {
          requireAccess(await loadSession(ctx.orm.em.fork(), token, { extendIdle: false }), permission);
        },
      },
    });
  });
}
