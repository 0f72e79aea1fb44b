import type { Orm } from '@provisioning/db';
import type PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { z } from 'zod';

export interface JobContext {
  /** An EntityManager forked for this job alone. */
  em: Orm['em'];
  logger: Logger;
  jobId: string;
}

/** One queue: its name (from @provisioning/shared), payload schema, pg-boss queue options and handler. */
export interface JobDefinition<Payload extends z.ZodType = z.ZodType> {
  name: string;
  payload: Payload;
  queue?: Omit<PgBoss.Queue, 'name'>;
  handle(data: z.output<Payload>, context: JobContext): Promise<void>;
}
