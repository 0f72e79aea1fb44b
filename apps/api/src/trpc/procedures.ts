import { checkAccess, type Permission } from '@provisioning/shared';
import { AccessDeniedError, baseProcedure, TRPCError } from './trpc.ts';

/** Anyone, signed in or not. */
export const publicProcedure = baseProcedure;

/** A signed-in account; its organisation is the only one it ever sees. */
export const authedProcedure = baseProcedure.use(({ ctx, next }) => {
  if (!ctx.session) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in to continue.' });
  return next({ ctx: { ...ctx, session: ctx.session } });
});

/** A signed-in account that the shared permission table allows `permission`. */
export function procedureFor(permission: Permission) {
  return authedProcedure.use(({ ctx, next }) => {
    const access = checkAccess(ctx.session, permission);
    if (!access.allowed) throw new AccessDeniedError(access.reason);
    return next();
  });
}
