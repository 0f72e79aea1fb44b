import {
  startWorkdayServer,
  type WorkdayServer,
  type WorkdayServerOptions,
  type WorkdayWorker,
} from '@provisioning/testkit';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { parseAllowList } from './host-guard.ts';
import { SourceError, type SourceRecord, type SourceTable } from './source.ts';
import { WORKDAY_BATCH_SIZE } from './workday-records.ts';
import type { WorkdayLoadOptions } from './workday-requests.ts';

/** What the Workday connector tests share: a local tenant per test file, reading rows, catching failures. */

/** Retries without the waits (not what these tests are about), loopback allowed. */
export const QUICK_RETRIES: WorkdayLoadOptions = {
  allowList: parseAllowList('127.0.0.1/32'),
  retryDelayMs: 1,
  maxRetryDelayMs: 5,
};

/**
 * Starts a local Workday tenant for the test file, and after each test ends its fault, serves `workers`
 * again and forgets the requests. The getter gives the running server.
 */
export function useWorkdayTenant(
  options: Omit<WorkdayServerOptions, 'workers'> & { workers: WorkdayWorker[] },
): () => WorkdayServer {
  let server: WorkdayServer | undefined;
  beforeAll(async () => {
    server = await startWorkdayServer(options);
  });
  afterEach(() => {
    server?.fault(null);
    server?.setWorkers(options.workers);
    if (server) server.requests.length = 0;
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => server as WorkdayServer;
}

/** Every record of a table, batch by batch (none empty, none over the batch size), then closes it. */
export async function rowsOf(table: SourceTable): Promise<SourceRecord[]> {
  const rows: SourceRecord[] = [];
  try {
    for await (const batch of table.batches) {
      expect(batch.length).toBeGreaterThan(0);
      expect(batch.length).toBeLessThanOrEqual(WORKDAY_BATCH_SIZE);
      rows.push(...batch);
    }
  } finally {
    await table.close();
  }
  return rows;
}

/**
 * The SourceError a load (or the reading of its rows) ends with. Its message and hint never hold one of
 * `secrets`, nor an Authorization header.
 */
export async function failureOf(
  load: Promise<SourceTable>,
  secrets: readonly string[],
): Promise<SourceError> {
  try {
    await rowsOf(await load);
  } catch (error) {
    expect(error).toBeInstanceOf(SourceError);
    const text = `${(error as SourceError).message} ${(error as SourceError).hint}`;
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/Basic [A-Za-z0-9+/=]{8}|Bearer \S/);
    return error as SourceError;
  }
  throw new Error('the load succeeded');
}
