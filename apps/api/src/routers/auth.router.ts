import { createSession, findAccountByCredentials, revokeSession, SESSION_MAX_AGE_MS } from '@provisioning/db';
import { checkAccess, roleAllows, SignInInputSchema } from '@provisioning/shared';
import { loadSession, type SessionInfo } from '../http/request-session.ts';
import { publicProcedure } from '../trpc/procedures.ts';
import { router, TRPCError } from '../trpc/trpc.ts';

/** What the page needs to decide what to show: who is signed in, and which access conditions hold. */
function meView(session: SessionInfo) {
  const { organisation } = session;
  return {
    account: session.account,
    roles: session.roles,
    organisation: { id: organisation.id, name: organisation.name, timeZone: organisation.timeZone },
    conditions: {
      roleAllowsProvisioning: roleAllows(session.roles, 'provisioning.view'),
      provisioningEnabled: organisation.provisioningEnabled,
      onUserSyncService: organisation.syncService === 'user-sync',
    },
    access: {
      viewProvisioning: checkAccess(session, 'provisioning.view'),
      downloadLogs: checkAccess(session, 'provisioning.download-logs'),
    },
  };
}

export const authRouter = router({
  /** The signed-in account, or null: the page shows the sign-in form then. */
  me: publicProcedure.query(async ({ ctx }) => {
    const session = await ctx.requestSession.load();
    return session ? meView(session) : null;
  }),

  signIn: publicProcedure.input(SignInInputSchema).mutation(async ({ ctx, input }) => {
    // Counted before the password is checked, so parallel guesses cannot all slip under the limit.
    const attempt = await ctx.loginLimiter.attempt(ctx.em, input.email, ctx.clientAddress);
    if (!attempt.allowed) {
      ctx.setRetryAfter(attempt.retryAfterSeconds);
      throw new TRPCError({
        code: 'TOO_MANY_REQUESTS',
        message: `Too many sign-in attempts. Try again in ${Math.ceil(attempt.retryAfterSeconds / 60)} minute(s).`,
      });
    }
    const account = await findAccountByCredentials(ctx.em, input.email, input.password);
    if (!account) {
      // The attempt stays counted: it was a failure.
      ctx.logger.info({ event: 'sign-in-failed' }, 'sign-in failed');
      throw new TRPCError({ code: 'UNAUTHORIZED', message: 'The email or password is incorrect.' });
    }
    await ctx.loginLimiter.recordSuccess(ctx.em, input.email, attempt.counted);
    // A browser signing in again leaves no earlier session behind for whoever holds that cookie later.
    const earlier = ctx.requestSession.token;
    if (earlier) await revokeSession(ctx.em, earlier);
    const { token } = await createSession(ctx.em, account, {
      ipAddress: ctx.clientAddress,
      userAgent: ctx.userAgent,
    });
    ctx.cookies.setSession(token, SESSION_MAX_AGE_MS / 1000);
    ctx.logger.info({ event: 'signed-in', accountId: account.id }, 'signed in');
    const session = await loadSession(ctx.em, token);
    if (!session) throw new Error('a session just created could not be read back');
    return meView(session);
  }),

  /** Ends this browser's session; signed out already is fine too. */
  signOut: publicProcedure.mutation(async ({ ctx }) => {
    const { token } = ctx.requestSession;
    if (token) await revokeSession(ctx.em, token);
    ctx.cookies.clearSession();
    return { signedOut: true };
  }),
});
