import { type ReadScope, sessionScope } from '@provisioning/db';
import { checkAccess, PERMISSIONS, type Permission } from '@provisioning/shared';
import { loadSession, type SessionInfo } from '../http/request-session.ts';
import { AccessDeniedError, baseProcedure, TRPCError } from './trpc.ts';

function requireSession(session: SessionInfo | null): SessionInfo {
  if (!session) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in to continue.' });
  return session;
}

/** Throws the refusal a call gets: UNAUTHORIZED without a session, the table's reason without access. */
function requireAccess(session: SessionInfo | null, permission: Permission): SessionInfo {
  const signedIn = requireSession(session);
  const access = checkAccess(signedIn, permission);
  if (!access.allowed) throw new AccessDeniedError(access.reason);
  return signedIn;
}

/** Anyone, signed in or not. */
export const publicProcedure = baseProcedure;

/** A signed-in account; its organisation is the only one it ever sees. */
export const authedProcedure = baseProcedure.use(async ({ ctx, next }) =>
  next({ ctx: { session: requireSession(await ctx.requestSession.load()) } }),
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

/**
 * `procedureFor` for the hot reads (the runs list, a run's details): the session is checked in the read's
 * own message (`sessionScope`), one round trip where reading it first makes two. `ctx.scope` is what the
 * read is scoped to; the same refusals apply, before anything read is returned. Where the session has
 * already been read (an earlier call of a batch), the read is scoped to its organisation as usual. A call
 * that fails before its check ran (bad input, say) answers as `procedureFor` would: the session's refusal
 * first.
 */
export function checkedReadFor(permission: Permission) {
  return baseProcedure.use(async ({ ctx, next }) => {
    const { requestSession } = ctx;
    const { token } = requestSession;
    if (token === undefined || requestSession.read) {
      const session = requireAccess(await requestSession.load(), permission);
      return next({ ctx: { scope: session.organisation.id as ReadScope } });
    }
    const scope = sessionScope(token, PERMISSIONS[permission], (found) => {
      requireAccess(requestSession.found(found), permission);
    });
    const result = await next({ ctx: { scope: scope as ReadScope } });
    if (!result.ok && !requestSession.read) requireAccess(await requestSession.load(), permission);
    return result;
  });
}
