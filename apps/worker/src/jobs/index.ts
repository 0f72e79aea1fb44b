import type { JobDefinition } from './job-definition.ts';

// Every queue the worker serves: one `<queue>.job.ts` file per queue, exporting its JobDefinition, listed here.
export const JOBS: readonly JobDefinition[] = [];
