import { listPersonHistory } from '@provisioning/db';
import { PersonHistoryInputSchema } from '@provisioning/shared';
import { procedureFor } from '../trpc/procedures.ts';
import { router } from '../trpc/trpc.ts';

/** People as the runs saw them: who may view runs may see what the runs did to one person. */
export const peopleRouter = router({
  /**
   * The lines of the organisation's runs that created, updated, reactivated, deactivated or skipped the
   * person whose email or external ID is exactly `query`, newest first, a page at a time.
   */
  history: procedureFor('provisioning.view')
    .input(PersonHistoryInputSchema)
    .query(({ ctx, input }) => listPersonHistory(ctx.em, ctx.session.organisation.id, input)),
});
