import { listConfigurationChoices } from '@provisioning/db';
import { procedureFor } from '../trpc/procedures.ts';
import { router } from '../trpc/trpc.ts';

export const configurationsRouter = router({
  /** The runs filter's configuration choices. */
  list: procedureFor('provisioning.view').query(({ ctx }) =>
    listConfigurationChoices(ctx.em, ctx.session.organisation.id),
  ),
});
