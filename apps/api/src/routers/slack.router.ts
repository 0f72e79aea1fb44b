import { confirmSlackLink } from '@provisioning/db';
import { SlackConfirmLinkInputSchema } from '@provisioning/shared';
import { procedureFor } from '../trpc/procedures.ts';
import { router } from '../trpc/trpc.ts';

export const slackRouter = router({
  /**
   * Links the Slack user who ran `/sync-logs link` to the signed-in account. Only an account that may
   * download logs can confirm (the same permission `/sync-logs` checks), and only a code of its own
   * organisation is found.
   */
  confirmLink: procedureFor('provisioning.download-logs')
    .input(SlackConfirmLinkInputSchema)
    .mutation(({ ctx, input }) =>
      confirmSlackLink(ctx.em, ctx.session.organisation.id, ctx.session.account.id, input.code),
    ),
});
