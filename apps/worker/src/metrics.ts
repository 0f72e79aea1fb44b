import { type Orm, runQueueHealth } from '@provisioning/db';
import type PgBoss from 'pg-boss';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type RunPhase = 'load' | 'plan' | 'apply';

/**
 * The worker's Prometheus metrics. Counts of what this process did (runs finished, phase times) are
 * counters of its own, summed across workers by Prometheus; the state of the queue and the ledger
 * (depth, runs in progress, stale runs) is read from the database at each scrape, so every worker reports
 * the same, current figure.
 */
export interface WorkerMetrics {
  registry: Registry;
  runFinished(status: string, connector: string): void;
  phase(connector: string, phase: RunPhase, seconds: number): void;
}

export function createWorkerMetrics({
  orm,
  boss,
  queues,
  staleAfterSeconds,
}: {
  orm: Orm;
  boss: PgBoss;
  queues: readonly string[];
  /** Seconds without a heartbeat that make a run stale (RUN_STALE_AFTER_SECONDS). */
  staleAfterSeconds: number;
}): WorkerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const finished = new Counter({
    name: 'provisioning_runs_finished_total',
    help: 'Sync runs this worker finished, by final status and connector.',
    labelNames: ['status', 'connector'] as const,
    registers: [registry],
  });
  const phases = new Histogram({
    name: 'provisioning_run_phase_seconds',
    help: 'Time a sync run spent loading the source, planning and applying, by connector.',
    labelNames: ['connector', 'phase'] as const,
    // From a small file to a 500k-row source on a busy machine.
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
    registers: [registry],
  });
  new Gauge({
    name: 'provisioning_queue_depth',
    help: 'Jobs waiting in each pg-boss queue (created or waiting to retry).',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      for (const queue of queues) this.set({ queue }, await boss.getQueueSize(queue));
    },
  });
  // One read of the ledger serves both gauges of a scrape.
  let health: ReturnType<typeof runQueueHealth> | undefined;
  const readHealth = () => {
    health ??= runQueueHealth(orm.em.fork(), staleAfterSeconds).finally(() =>
      setImmediate(() => {
        health = undefined;
      }),
    );
    return health;
  };
  new Gauge({
    name: 'provisioning_runs_in_progress',
    help: 'Sync runs in progress, all workers together.',
    registers: [registry],
    async collect() {
      this.set((await readHealth()).inProgress);
    },
  });
  new Gauge({
    name: 'provisioning_stale_runs',
    help: `Runs in progress without a heartbeat for ${staleAfterSeconds} s (their worker died or hangs).`,
    registers: [registry],
    async collect() {
      this.set((await readHealth()).stale);
    },
  });
  return {
    registry,
    runFinished: (status, connector) => finished.inc({ status, connector }),
    phase: (connector, phase, seconds) => phases.observe({ connector, phase }, seconds),
  };
}
