import type { Orm } from '@provisioning/db';
import type { AllowList } from '@provisioning/sync';
import type PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { WorkerMetrics } from '../metrics.ts';

export interface JobContext {
  /** An EntityManager forked for this job alone. */
  em: Orm['em'];
  orm: Orm;
  boss: PgBoss;
  /** This job's own child logger (queue, job ID): a job may add bindings to it for its remaining lines. */
  logger: Logger;
  /** Seals and opens configuration secrets. */
  secretKey: Buffer;
  jobId: string;
  /** How many times pg-boss has retried this job, and how many it may. */
  retryCount: number;
  retryLimit: number;
  /** When the job was created: for a scheduled job, the minute it was scheduled for. */
  createdOn: Date;
  /** Non-public hosts connectors may reach (CONNECTOR_ALLOWED_HOSTS). */
  allowList: AllowList;
  /** Seconds without a heartbeat after which a run's worker is presumed dead (RUN_STALE_AFTER_SECONDS). */
  runStaleAfterSeconds: number;
  /** Aborted when the worker begins to stop: long work ends early and hands its work back. */
  signal: AbortSignal;
  /** This process's Prometheus metrics. */
  metrics: WorkerMetrics;
  slack: SlackSettings;
}

/** App-wide Slack settings (the worker's env): each workspace's token is stored with its installation. */
export interface SlackSettings {
  /** SLACK_API_URL. */
  apiUrl: string;
  /** PUBLIC_WEB_URL: the admin panel, for links in messages. */
  publicWebUrl: string;
}

/** One queue: its name (from @provisioning/shared), payload schema, pg-boss queue options and handler. */
export interface JobDefinition<Payload extends z.ZodType = z.ZodType> {
  name: string;
  payload: Payload;
  queue?: Omit<PgBoss.Queue, 'name'>;
  /** A cron (UTC) on which pg-boss sends this job, once across all workers. */
  cron?: string;
  handle(data: z.output<Payload>, context: JobContext): Promise<void>;
}
