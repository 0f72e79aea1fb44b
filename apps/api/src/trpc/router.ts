import { authRouter } from '../routers/auth.router.ts';
import { configurationsRouter } from '../routers/configurations.router.ts';
import { peopleRouter } from '../routers/people.router.ts';
import { slackRouter } from '../routers/slack.router.ts';
import { syncRunsRouter } from '../routers/sync-runs.router.ts';
import { router } from './trpc.ts';

export const appRouter = router({
  auth: authRouter,
  runs: syncRunsRouter,
  configurations: configurationsRouter,
  people: peopleRouter,
  slack: slackRouter,
});

/** The web app (and later the Slack bot) import this type, and only this, from the API. */
export type AppRouter = typeof appRouter;
