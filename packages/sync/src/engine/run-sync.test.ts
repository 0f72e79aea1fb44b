import { EventEmitter, once } from 'node:events';
import {
  createConfiguration,
  generateSecretKey,
  type Orm,
  parseSecretKey,
  requestCancel,
} from '@provisioning/db';
import { createMigratedTestOrm, type MigratedTestOrm } from '@provisioning/db/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LoadOptions, SourceError, type SourceRecord, type SourceTable } from '../connectors/source.ts';
import { type RunSyncOptions, runSync } from './run-sync.ts';
import { createTestOrganisation, queueRunRow } from './sync-fixture.test-support.ts';

const HEADERS = ['employee_id', 'email', 'first_name', 'last_name', 'department'];
type Row = [string, string, string, string, string];

function people(count: number, department = 'Sales', from = 1): Row[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    return [`E${String(n).padStart(5, '0')}`, `user.${n}@example.com`, `First${n}`, `Last${n}`, department];
  });
}

/** A source that yields the given rows, as a connector would. */
function memorySource(rows: Row[], headers = HEADERS): RunSyncOptions['load'] {
  return async (): Promise<SourceTable> => ({
    origin: 'memory',
    headers,
    // Batches of three, so that runs of a few rows span several.
    batches: (async function* (): AsyncGenerator<SourceRecord[]> {
      const records = rows.map((row, i) => ({
        rowNumber: i + 2,
        values: Object.fromEntries(headers.map((h, j) => [h, row[j] ?? ''])),
      }));
      for (let i = 0; i < records.length; i += 3) yield records.slice(i, i + 3);
    })(),
    close: async () => {},
  });
}

let database: MigratedTestOrm;
let orm: Orm;
const secretKey = parseSecretKey(generateSecretKey());
let organisationId: string;
let configurationId: string;

beforeAll(async () => {
  database = await createMigratedTestOrm('run_sync');
  orm = database.orm;
  organisationId = await createTestOrganisation(orm, 'Acme', 'Europe/London');
});

afterAll(async () => {
  await database?.close();
});

let configCounter = 0;

/** An SFTP configuration of the organisation (it is never fetched: tests feed rows directly). */
async function newConfiguration(name: string, path: string): Promise<string> {
  const configuration = await createConfiguration(
    orm.em.fork(),
    organisationId,
    {
      name,
      connector: 'sftp',
      settings: {
        host: 'sftp.example.com',
        username: 'acme',
        password: 'secret-password',
        hostFingerprint: `SHA256:${'A'.repeat(43)}`,
        path,
      },
      mapping: {},
      schedule: null,
      scheduleTimeZone: null,
      thresholdCount: 500,
      thresholdPercent: 20,
      enabled: true,
    },
    secretKey,
  );
  return configuration.id;
}

beforeEach(async () => {
  configCounter += 1;
  configurationId = await newConfiguration(`HR feed ${configCounter}`, '/outbound/employees.csv');
  // Users of earlier tests belong to other configurations; start each test from an empty directory.
  await sql('delete from directory_user');
});

async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  return orm.em.getConnection().execute<T[]>(text, params);
}

function queueRun(): Promise<string> {
  return queueRunRow(orm, organisationId, configurationId);
}

/** How the describe block being run writes users and logs (RunSyncOptions.copy). */
let copy: boolean | undefined;

async function sync(rows: Row[], options: Partial<RunSyncOptions> = {}) {
  const runId = await queueRun();
  const result = await runSync(runId, { orm, secretKey, load: memorySource(rows), copy, ...options });
  const [run] = await sql<Record<string, unknown>>('select * from sync_run where id = ?', [runId]);
  return { runId, result, run: run as Record<string, unknown> };
}

async function directory() {
  return sql<{ external_id: string; email: string; department: string | null; status: string }>(
    'select external_id, email, department, status from directory_user order by external_id',
  );
}

async function logCount(runId: string): Promise<number> {
  const [row] = await sql<{ n: number }>('select count(*)::int as n from sync_log where run_id = ?', [runId]);
  return row?.n ?? 0;
}

describe.each([
  ['by COPY where the database takes it', undefined],
  ['by unnest() arrays', false],
] as const)('runSync, writing %s', (_way, way) => {
  beforeAll(() => {
    copy = way;
  });

  it('creates every user of a first import and records a successful run with counts and a log line per row', async () => {
    const { runId, result, run } = await sync(people(3));
    expect(result).toEqual({ status: 'success' });
    expect(run).toMatchObject({ status: 'success', created_count: 3, rows_read: 3, attempt: 1 });
    expect(run.duration_ms).toEqual(expect.any(Number));
    expect((await directory()).map((u) => u.email)).toEqual([
      'user.1@example.com',
      'user.2@example.com',
      'user.3@example.com',
    ]);
    expect(await logCount(runId)).toBe(3);
  });

  it('writes nothing to the directory when the same input is synced again', async () => {
    await sync(people(3));
    const [before] = await sql<{ t: Date }>('select max(updated_at) as t from directory_user');
    const { result, run } = await sync(people(3));
    expect(result).toEqual({ status: 'success' });
    expect(run).toMatchObject({ unchanged_count: 3, created_count: 0, updated_count: 0 });
    const [after] = await sql<{ t: Date }>('select max(updated_at) as t from directory_user');
    expect(after?.t).toEqual(before?.t);
  });

  it('ends equal to A after syncing A, then B, then A again', async () => {
    const a = people(4, 'Sales');
    const b = [...people(2, 'Marketing'), ...people(1, 'Sales', 10)];
    await sync(a);
    const afterA = await directory();
    const { run } = await sync(b);
    expect(run).toMatchObject({ updated_count: 2, created_count: 1, deactivated_count: 2 });
    await sync(a);
    const again = await directory();
    expect(again.filter((u) => u.status === 'active')).toEqual(afterA);
    expect(again.find((u) => u.external_id === 'E00010')?.status).toBe('deactivated');
  });

  it('records field-level changes of an update in the log', async () => {
    await sync(people(1, 'Sales'));
    const { runId } = await sync(people(1, 'Marketing'));
    const [entry] = await sql<{ action: string; changes: unknown }>(
      'select action, changes from sync_log where run_id = ?',
      [runId],
    );
    expect(entry).toEqual({
      action: 'update',
      changes: { department: { before: 'Sales', after: 'Marketing' } },
    });
  });

  it('updates users read by signature, a tab in a stored value or not, keeping fields the source lacks', async () => {
    await sync(people(2, 'Sales'));
    // A tab cannot come from a source (the normaliser turns it into a space), but another writer may store one.
    await sql(`update directory_user set phone = '555', department = case external_id
      when 'E00001' then E'Sales\\tOps' else department end`);
    const { runId, run } = await sync(people(2, 'Sales Ops'));
    expect(run).toMatchObject({ status: 'success', updated_count: 2 });
    const changes = await sql<{ changes: unknown }>(
      'select changes from sync_log where run_id = ? order by seq',
      [runId],
    );
    expect(changes).toEqual([
      { changes: { department: { before: 'Sales\tOps', after: 'Sales Ops' } } },
      { changes: { department: { before: 'Sales', after: 'Sales Ops' } } },
    ]);
    expect(await sql('select department, phone from directory_user order by external_id')).toEqual([
      { department: 'Sales Ops', phone: '555' },
      { department: 'Sales Ops', phone: '555' },
    ]);
    const again = await sync(people(2, 'Sales Ops'));
    expect(again.run).toMatchObject({ unchanged_count: 2, updated_count: 0 });
  });

  it('ends as Needs Attention with the warning in the log when a row has an invalid email', async () => {
    const rows = people(2);
    (rows[1] as Row)[1] = 'not-an-email';
    const { runId, run } = await sync(rows);
    expect(run).toMatchObject({ status: 'needs_attention', created_count: 1, skipped_count: 1 });
    const [skipped] = await sql<{ row_number: number; action: string; message: string }>(
      `select row_number, action, message from sync_log where run_id = ? and action = 'skip'`,
      [runId],
    );
    expect(skipped).toMatchObject({ row_number: 3, action: 'skip' });
    expect(skipped?.message).toMatch(/email/i);
  });

  it('knows a manager from the directory when the file does not list them, and warns about one in neither', async () => {
    // The manager is in the directory (added by hand), not in this run's file.
    await sql(
      `insert into directory_user (id, organisation_id, email, first_name, last_name, status, created_at, updated_at)
       values (gen_random_uuid(), ?, 'boss@example.com', 'Big', 'Boss', 'active', now(), now())`,
      [organisationId],
    );
    const headers = [...HEADERS, 'manager_email'];
    const rows = [
      [...(people(1)[0] as Row), 'BOSS@example.com'],
      [...(people(1, 'Sales', 2)[0] as Row), 'nobody@example.com'],
      [...(people(1, 'Sales', 3)[0] as Row), 'user.1@example.com'],
    ] as unknown as Row[];
    const { runId, run } = await sync(rows, { load: memorySource(rows, headers) });
    expect(run).toMatchObject({ status: 'needs_attention', created_count: 3, warning_count: 1 });
    const warned = await sql<{ row_number: number; outcome: string; message: string | null }>(
      'select row_number, outcome, message from sync_log where run_id = ? order by seq',
      [runId],
    );
    expect(warned).toEqual([
      { row_number: 2, outcome: 'applied', message: null },
      {
        row_number: 3,
        outcome: 'warning',
        message:
          "Manager nobody@example.com is not in the source or the directory; the value was kept. Check the manager's email.",
      },
      { row_number: 4, outcome: 'applied', message: null },
    ]);
  });

  it('writes nothing and keeps an error log when the source fails to load', async () => {
    await sync(people(2));
    const before = await directory();
    const failing: RunSyncOptions['load'] = async () => {
      throw new SourceError('SourceNotFound', 'No file matches /outbound/employees_*.csv', {
        hint: 'Check that the HR system exported the file',
      });
    };
    const { runId, run } = await sync([], { load: failing });
    expect(run).toMatchObject({ status: 'data_load_failed', error_count: 1 });
    expect(run.error_summary).toBe('No file matches /outbound/employees_*.csv');
    expect(await directory()).toEqual(before);
    expect(await sql('select action, message, hint from sync_log where run_id = ?', [runId])).toEqual([
      {
        action: 'error',
        message: 'No file matches /outbound/employees_*.csv',
        hint: 'Check that the HR system exported the file',
      },
    ]);
  });

  it('reports a missing required column as Data Load Failed naming the columns found', async () => {
    const { run } = await sync([['E1', 'Ada', 'Lovelace', 'x', 'y']], {
      load: memorySource([['E1', 'Ada', 'Lovelace', 'x', 'y']], ['employee_id', 'Name', 'Surname', 'a', 'b']),
    });
    expect(run.status).toBe('data_load_failed');
    expect(run.error_summary).toMatch(/Missing required columns? `email`.*Found: employee_id, Name, Surname/);
    expect(await directory()).toEqual([]);
  });

  it("reads fields from the connector's default columns when the mapping and header names leave them out", async () => {
    const headers = ['Worker_ID', 'Email_Address', 'Legal_First_Name', 'Legal_Last_Name'];
    const rows = [['W1', 'ada@example.com', 'Ada', 'Lovelace']] as unknown as Row[];
    const plain = memorySource(rows, headers)!;
    const { run } = await sync(rows, {
      load: async (configuration, options) => ({
        ...(await plain(configuration, options)),
        defaultColumns: {
          employee_id: ['Employee_ID', 'Worker_ID'],
          email: ['Email_Address'],
          first_name: ['Legal_First_Name'],
          last_name: ['Legal_Last_Name'],
        },
      }),
    });
    expect(run).toMatchObject({ status: 'success', created_count: 1 });
    expect(await directory()).toEqual([
      { external_id: 'W1', email: 'ada@example.com', department: null, status: 'active' },
    ]);
  });

  describe('deactivation threshold', () => {
    async function blockedAt(
      active: number,
      remaining: number,
      limits: { count?: number; percent?: number },
    ) {
      await sql('update sync_configuration set threshold_count = ?, threshold_percent = ? where id = ?', [
        limits.count ?? 500,
        limits.percent ?? 20,
        configurationId,
      ]);
      await sync(people(active));
      const before = await directory();
      const { run } = await sync(people(remaining));
      return { run, unchanged: JSON.stringify(await directory()) === JSON.stringify(before) };
    }

    it('lets exactly 20% of 1,000 active users be deactivated', async () => {
      const { run } = await blockedAt(1000, 800, {});
      expect(run).toMatchObject({ status: 'success', deactivated_count: 200 });
    });

    it('blocks 201 of 1,000 at 20% and writes nothing, keeping the details for support', async () => {
      const { run, unchanged } = await blockedAt(1000, 799, {});
      expect(run).toMatchObject({ status: 'above_deactivation_threshold', deactivated_count: 0 });
      expect(unchanged).toBe(true);
      expect(run.threshold_details).toMatchObject({
        plannedDeactivations: 201,
        activeManagedUsers: 1000,
        thresholdCount: 500,
        thresholdPercent: 20,
      });
      expect((run.threshold_details as { sample: unknown[] }).sample).toHaveLength(50);
    });

    it('does not apply the percentage below 100 active users', async () => {
      const { run } = await blockedAt(99, 1, {});
      expect(run).toMatchObject({ status: 'success', deactivated_count: 98 });
    });

    it('blocks one more deactivation than the absolute count', async () => {
      const { run } = await blockedAt(20, 9, { count: 10, percent: 100 });
      expect(run.status).toBe('above_deactivation_threshold');
    });
  });

  it('stops at the next checkpoint when support cancels a running sync, writing nothing', async () => {
    const { run } = await sync(people(3), {
      onPhase: async (phase) => {
        if (phase === 'loaded') {
          const [running] = await sql<{ id: string }>(
            `select id from sync_run where status = 'in_progress' and configuration_id = ?`,
            [configurationId],
          );
          await requestCancel(orm.em.fork(), (running as { id: string }).id);
        }
      },
    });
    expect(run).toMatchObject({ status: 'cancelled', created_count: 0 });
    expect(await directory()).toEqual([]);
  });

  it('cannot commit from a stale attempt once another worker has taken the run over', async () => {
    const { result, run } = await sync(people(3), {
      onPhase: async (phase) => {
        if (phase === 'applying') {
          // Another worker recovered the run meanwhile: its attempt is newer.
          await sql(
            `update sync_run set attempt = attempt + 1 where status = 'in_progress' and configuration_id = ?`,
            [configurationId],
          );
        }
      },
    });
    expect(result).toEqual({ status: 'not_run', reason: 'another attempt owns this run' });
    expect(run).toMatchObject({ status: 'in_progress', attempt: 2 });
    expect(await directory()).toEqual([]);
  });

  it('plans again when another configuration takes one of its emails between plan and apply', async () => {
    const other = await newConfiguration(`Contractors ${configCounter}`, '/outbound/contractors.csv');
    const phases: string[] = [];
    const { runId, result, run } = await sync(people(3), {
      onPhase: async (phase) => {
        phases.push(phase);
        if (phase === 'applying' && phases.filter((p) => p === 'applying').length === 1) {
          // The other configuration's run commits a user with one of this plan's emails.
          await sql(
            `insert into directory_user (id, organisation_id, managed_by_id, external_id, email, first_name, last_name,
               status, created_at, updated_at)
             values (gen_random_uuid(), ?, ?, 'C001', 'user.2@example.com', 'Con', 'Tractor', 'active', now(), now())`,
            [organisationId, other],
          );
        }
      },
    });
    expect(phases).toEqual(['loaded', 'planned', 'applying', 'planned', 'applying']);
    expect(result).toEqual({ status: 'needs_attention' });
    expect(run).toMatchObject({ status: 'needs_attention', created_count: 2, skipped_count: 1 });
    expect(await directory()).toEqual([
      { external_id: 'C001', email: 'user.2@example.com', department: null, status: 'active' },
      { external_id: 'E00001', email: 'user.1@example.com', department: 'Sales', status: 'active' },
      { external_id: 'E00003', email: 'user.3@example.com', department: 'Sales', status: 'active' },
    ]);
    const [skipped] = await sql<{ message: string }>(
      `select message from sync_log where run_id = ? and action = 'skip'`,
      [runId],
    );
    expect(skipped?.message).toMatch(/user\.2@example\.com.*Contractors/);
  });

  it('never touches users created by hand', async () => {
    await sql(
      `insert into directory_user (id, organisation_id, email, first_name, last_name, status, created_at, updated_at)
       values (gen_random_uuid(), ?, 'manual@example.com', 'Man', 'Ual', 'active', now(), now())`,
      [organisationId],
    );
    await sync(people(2));
    await sync(people(1));
    const [manual] = await sql<{ status: string; managed_by_id: string | null }>(
      `select status, managed_by_id from directory_user where email = 'manual@example.com'`,
    );
    expect(manual).toEqual({ status: 'active', managed_by_id: null });
  });
});

/**
 * A load that never delivers, as a transfer stuck on a file cut short: it ends only when its signal is
 * aborted, rejecting with the abort's reason. `started` is told the load's options once it runs.
 */
function stuckSource(started: (options: LoadOptions) => void): RunSyncOptions['load'] {
  return (_configuration, options) =>
    new Promise<SourceTable>((_resolve, reject) => {
      options.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true });
      started(options);
    });
}

async function runningRunOf(configuration: string): Promise<string> {
  const [running] = await sql<{ id: string }>(
    `select id from sync_run where status = 'in_progress' and configuration_id = ?`,
    [configuration],
  );
  return (running as { id: string }).id;
}

describe('runSync while its source is stuck', () => {
  it('ends as Cancelled when support cancels, aborting the transfer itself', async () => {
    const reasons: unknown[] = [];
    const { result, run } = await sync(people(3), {
      heartbeatIntervalMs: 20,
      load: stuckSource((options) => {
        options.signal?.addEventListener('abort', () => reasons.push(options.signal?.reason));
        void runningRunOf(configurationId).then((runId) => requestCancel(orm.em.fork(), runId));
      }),
    });
    expect(result).toEqual({ status: 'cancelled' });
    expect(run).toMatchObject({
      status: 'cancelled',
      error_summary: 'Cancelled by support before it was applied',
    });
    expect(reasons).toHaveLength(1);
    expect(await directory()).toEqual([]);
  });

  it('keeps its heartbeat where it was while the transfer makes no progress, and advances it as bytes arrive', async () => {
    const beats = new EventEmitter();
    const nextBeat = async () => (await once(beats, 'beat'))[0] as boolean;
    let loadOptions: LoadOptions | undefined;
    const loading = once(beats, 'loading');
    const running = sync(people(3), {
      heartbeatIntervalMs: 20,
      onHeartbeat: (advanced) => beats.emit('beat', advanced),
      load: stuckSource((options) => {
        loadOptions = options;
        beats.emit('loading');
      }),
    });
    await loading;
    const runId = await runningRunOf(configurationId);
    const beatTimes = async () => {
      const [row] = await sql<{ started: string; beat: string }>(
        'select started_at::text as started, heartbeat_at::text as beat from sync_run where id = ?',
        [runId],
      );
      return row as { started: string; beat: string };
    };

    const stalled = [await nextBeat(), await nextBeat(), await nextBeat()];
    expect(stalled).toEqual([false, false, false]);
    const still = await beatTimes();
    // The claim set both at once; nothing has moved the heartbeat since.
    expect(still.beat).toBe(still.started);

    loadOptions?.onProgress?.({ bytes: 32_768 });
    let advanced = await nextBeat();
    // A beat already under way when the bytes arrived may still report the stall.
    if (!advanced) advanced = await nextBeat();
    expect(advanced).toBe(true);
    expect((await beatTimes()).beat > still.beat).toBe(true);

    await requestCancel(orm.em.fork(), runId);
    expect((await running).result).toEqual({ status: 'cancelled' });
  });

  it('stops when its worker stops, writing nothing and leaving the run in progress under its attempt to hand back', async () => {
    const stopping = new AbortController();
    const { result, run } = await sync(people(3), {
      signal: stopping.signal,
      load: stuckSource(() => stopping.abort()),
    });
    expect(result).toEqual({ status: 'stopped', attempt: 1 });
    expect(run).toMatchObject({ status: 'in_progress', attempt: 1, created_count: 0 });
    expect(await directory()).toEqual([]);
  });
});
