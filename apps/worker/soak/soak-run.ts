/**
 * The soak: organisations with configurations on local SFTP, Workday and Google Workspace fakes, synced by
 * two worker processes once a minute each (spread over the minute) while their sources churn and a random
 * worker is killed (SIGKILL) and restarted; then it drains and checks what must hold after such a night.
 * Used by `pnpm soak` (soak.ts) and, in a 2-minute form, by the worker's tests.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  createBoss,
  createConfiguration,
  createOrm,
  ensureQueues,
  migrate,
  type Orm,
  sql,
  triggerRun,
} from '@provisioning/db';
import { createTestDatabase, seedOrganisation, type TestDatabase } from '@provisioning/db/testing';
import type { Connector, SyncConfigurationInput } from '@provisioning/shared';
import {
  type GoogleDirectoryServer,
  googleDirectoryUser,
  type HrRow,
  hrRow,
  percentile,
  type SftpServer,
  seededRandom,
  startGoogleDirectoryServer,
  startSftpServer,
  startWorkdayServer,
  type WorkdayServer,
  writeHrCsv,
} from '@provisioning/testkit';
import type PgBoss from 'pg-boss';

export interface SoakOptions {
  organisations: number;
  users: number;
  /** How long the scheduled runs, churn and kills go on before the drain. */
  minutes: number;
  /** Seconds between kills, drawn uniformly from this range. */
  killEverySeconds: [number, number];
  /** At most this many kills (no limit when absent). */
  maxKills?: number;
  /** Share of each source changed every minute: a few left, a few joined, the rest of it updated. */
  churn: number;
  /** The workers' RUN_STALE_AFTER_SECONDS: how soon a killed worker's run is taken back. */
  staleAfterSeconds: number;
  /** Seeds the people, the churn and the kills, so a run can be repeated. */
  seed: number;
  /** Progress lines (the script prints them; the test keeps them for a failure's message). */
  log(line: string): void;
}

export interface SoakCheck {
  name: string;
  /** Timing checks depend on the machine's load; the test of the short variant asserts only correctness. */
  kind: 'correctness' | 'timing';
  passed: boolean;
  detail: string;
}

/** Runs of the soak that did not apply, grouped by what they ended with. */
export interface UnappliedRunGroup {
  connector: Connector;
  /** The organisation's number in the soak (1-based), as the configuration names it: "Soak 3". */
  organisation: number;
  status: string;
  /** sync_run.error_summary, or null when the run ended without one. */
  errorSummary: string | null;
  runs: number;
  /**
   * Of those, runs a kill hit: in progress on attempt a when a worker was SIGKILLed, and attempt a did not
   * finish them (a later attempt did, or they ended Cancelled on attempt a, which only the reaper does here).
   */
  killed: number;
}

export interface SoakReport {
  kills: number;
  /** Runs that a killed worker held and another finished: attempt above 1. */
  recoveries: number;
  runsByStatus: Record<string, number>;
  /** Every run that ended other than Success or Needs Attention, grouped, most frequent first. */
  unapplied: UnappliedRunGroup[];
  /**
   * Per connector at the soak's size: the solo run and the soak's runs that applied, timed from their
   * worker's claim (queue wait excluded) to their end; runs a kill hit are counted apart (recovered*).
   */
  durations: {
    connector: Connector;
    users: number;
    soloMs: number;
    runs: number;
    p50Ms: number;
    p95Ms: number;
    /** Runs a kill hit that another attempt then applied, and the longest of their times. */
    recoveredRuns: number;
    recoveredMaxMs: number | null;
  }[];
  workerPeakRssMb: number;
  checks: SoakCheck[];
  passed: boolean;
}

const CONNECTOR_CYCLE: readonly Connector[] = ['sftp', 'workday', 'google-workspace'];
const SFTP_USER = 'soak';
const SFTP_PASSWORD = 'soak-sftp-password';
const WORKDAY_USER = 'ISU_Soak';
const WORKDAY_PASSWORD = 'soak-workday-password';
const DEPARTMENTS = ['Engineering', 'Finance', 'People', 'Sales', 'Support', 'Legal', 'Marketing'];
const APPLIED = ['success', 'needs_attention'];
/** How long the drain may take: a killed run waits for the stale limit and the reaper's next minute. */
const DRAIN_LIMIT_MS = 15 * 60_000;
/** Solo runs of each connector timed before the soak; the solo time is their median. */
const SOLO_SAMPLES = 3;
/** A soak run may take this many times its solo time. */
const SLOWDOWN_LIMIT = 3;

const workerDirectory = fileURLToPath(new URL('..', import.meta.url));

interface Person {
  n: number;
  row: HrRow;
  active: boolean;
}

/** One organisation's source: its people (as the fake serves them) and how to publish a change. */
interface Source {
  organisationId: string;
  configurationId: string;
  connector: Connector;
  domain: string;
  seed: number;
  people: Map<number, Person>;
  nextN: number;
  publish(): Promise<void>;
}

function person(n: number, seed: number, domain: string): Person {
  const row = hrRow(n, seed);
  const local = (email: string) => email.replace(/^user\.(\d+)@example\.com$/, `person.$1@${domain}`);
  return {
    n,
    active: true,
    row: {
      ...row,
      employee_id: `S${seed}-${String(n).padStart(7, '0')}`,
      email: local(row.email),
      manager_email: row.manager_email ? local(row.manager_email) : '',
    },
  };
}

/** The churn of one minute: `share` of the people change, a fifth leave, a fifth join, the rest move. */
function churn(source: Source, share: number, next: () => number): void {
  const active = [...source.people.values()].filter((p) => p.active);
  const changes = Math.max(3, Math.round(active.length * share));
  for (let i = 0; i < changes; i++) {
    const kind = i % 5;
    if (kind === 0) {
      const n = source.nextN++;
      source.people.set(n, person(n, source.seed, source.domain));
      continue;
    }
    const target = active[Math.floor(next() * active.length)];
    if (!target?.active) continue;
    if (kind === 1 && target.n !== 1) target.active = false;
    else {
      const department = DEPARTMENTS[Math.floor(next() * DEPARTMENTS.length)]!;
      target.row = { ...target.row, department, job_title: `${department} Specialist` };
    }
  }
}

/** Active people by lower-cased email with their department: what the directory must hold. */
function expectedDirectory(source: Source): Map<string, string> {
  const expected = new Map<string, string>();
  for (const p of source.people.values())
    if (p.active) expected.set(p.row.email.toLowerCase(), p.row.department);
  return expected;
}

type WorkerProcess = ChildProcessByStdio<null, Readable, Readable>;

interface Worker {
  name: string;
  process: WorkerProcess;
  peakRssMb: number;
}

/** A worker process as deployed: `node --import tsx src/main.ts`, one process, so SIGKILL kills it all. */
async function startWorkerProcess(name: string, env: Record<string, string>): Promise<Worker> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: workerDirectory,
    // Only the worker's own settings (its env.ts reads them): node and tsx need nothing else here.
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  };
  createInterface({ input: child.stderr }).on('line', keep);
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      keep(line);
      if (line.includes('"worker ready"')) resolve();
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`worker ${name} exited (${code ?? signal}) before it was ready:\n${tail.join('\n')}`)),
    );
  });
  await ready;
  return { name, process: child, peakRssMb: 0 };
}

/** The process's peak resident memory so far (VmHWM), in MB; 0 once it has gone. */
function peakRssMb(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) / 1024 : 0;
  } catch {
    return 0;
  }
}

async function stopWorkerProcess(worker: Worker, signal: NodeJS.Signals): Promise<void> {
  if (worker.process.exitCode !== null || worker.process.signalCode !== null) return;
  const exited = once(worker.process, 'exit');
  worker.process.kill(signal);
  await exited;
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls the ledger until `done` holds (the ledger is the state being waited for), or fails at `limitMs`. */
async function until(what: string, limitMs: number, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${limitMs / 1000} s waiting for ${what}`);
    await wait(250);
  }
}

async function unfinishedRuns(orm: Orm): Promise<number> {
  const [row] = await sql<{ count: string }>(
    orm.em.fork(),
    `select count(*) from sync_run where status in ('queued', 'in_progress')`,
  );
  return Number(row!.count);
}

async function runOnce(
  orm: Orm,
  boss: PgBoss,
  configurationId: string,
): Promise<{ status: string; ms: number }> {
  const { runId } = await triggerRun(orm, boss, configurationId, 'manual');
  let final: { status: string; duration_ms: number | null } | undefined;
  await until(`run ${runId}`, DRAIN_LIMIT_MS, async () => {
    [final] = await sql<{ status: string; duration_ms: number | null }>(
      orm.em.fork(),
      `select status, duration_ms from sync_run where id = ? and status not in ('queued', 'in_progress')`,
      [runId],
    );
    return final !== undefined;
  });
  return { status: final!.status, ms: final!.duration_ms ?? Number.NaN };
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const { log } = options;
  const next = seededRandom(options.seed);
  const database: TestDatabase = await createTestDatabase('soak');
  const secretKey = randomBytes(32);
  const sftpRoot = mkdtempSync(join(tmpdir(), 'soak-sftp-'));
  const servers: { stop(): Promise<void> }[] = [];
  const workers: Worker[] = [];
  let orm: Orm | undefined;
  let boss: PgBoss | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    if (database.kind !== 'server')
      throw new Error('The soak needs a PostgreSQL server (DATABASE_URL or 127.0.0.1:5432)');
    orm = await createOrm({ databaseUrl: database.url, poolSize: 4 });
    await migrate(orm);
    boss = createBoss(database.url, { max: 2, supervise: false, schedule: false });
    await boss.start();
    await ensureQueues(boss);
    const [{ deadlocks: deadlocksBefore }] = (await sql<{ deadlocks: string }>(
      orm.em.fork(),
      'select deadlocks from pg_stat_database where datname = current_database()',
    )) as [{ deadlocks: string }];

    // Sources and configurations.
    const sftp: SftpServer = await startSftpServer({
      root: sftpRoot,
      username: SFTP_USER,
      password: SFTP_PASSWORD,
    });
    servers.push(sftp);
    const sources: Source[] = [];
    for (let index = 0; index < options.organisations; index++) {
      const connector = CONNECTOR_CYCLE[index % CONNECTOR_CYCLE.length]!;
      const seed = options.seed * 100 + index + 1;
      const domain = `org${index + 1}.soak.example`;
      const organisation = await seedOrganisation(orm, { name: `Soak ${index + 1}`, roles: [] });
      const people = new Map<number, Person>();
      for (let n = 1; n <= options.users; n++) people.set(n, person(n, seed, domain));
      const source = {
        organisationId: organisation.id,
        connector,
        domain,
        seed,
        people,
        nextN: options.users + 1,
      };
      let settings: Record<string, unknown>;
      let publish: () => Promise<void>;
      if (connector === 'sftp') {
        const folder = join(sftpRoot, `org${index + 1}`);
        mkdirSync(folder);
        publish = async () => {
          // Written beside and renamed over: a download in progress keeps reading the file it opened.
          await writeHrCsv(join(folder, 'people.tmp'), {
            rows: [...people.values()].filter((p) => p.active).map((p) => p.row),
          });
          renameSync(join(folder, 'people.tmp'), join(folder, 'people.csv'));
        };
        settings = {
          host: sftp.host,
          port: sftp.port,
          username: SFTP_USER,
          password: SFTP_PASSWORD,
          hostFingerprint: sftp.hostFingerprint,
          path: `/org${index + 1}/people.csv`,
        };
      } else if (connector === 'workday') {
        const workday: WorkdayServer = await startWorkdayServer({
          user: WORKDAY_USER,
          password: WORKDAY_PASSWORD,
          workers: [],
        });
        servers.push(workday);
        publish = async () =>
          workday.setWorkers([...people.values()].map((p) => ({ ...p.row, active: p.active })));
        settings = { reportUrl: workday.reportUrl, username: WORKDAY_USER, password: WORKDAY_PASSWORD };
      } else {
        const admin = `admin@${domain}`;
        const google: GoogleDirectoryServer = await startGoogleDirectoryServer({
          admins: [admin],
          domains: [domain],
          users: [],
        });
        servers.push(google);
        publish = async () =>
          google.setUsers(
            [...people.values()].map((p) => ({
              ...googleDirectoryUser(p.n, seed, p.row),
              suspended: !p.active,
            })),
          );
        settings = {
          adminEmail: admin,
          serviceAccountEmail: google.serviceAccount.clientEmail,
          privateKey: google.serviceAccount.privateKey,
          tokenUrl: google.tokenUrl,
          apiBaseUrl: google.apiBaseUrl,
        };
      }
      const input: SyncConfigurationInput = {
        name: `Soak ${index + 1} (${connector})`,
        connector,
        settings,
        mapping: {},
        schedule: null,
        scheduleTimeZone: null,
        thresholdCount: options.users,
        thresholdPercent: 50,
        enabled: true,
      } as SyncConfigurationInput;
      const configuration = await createConfiguration(orm.em.fork(), organisation.id, input, secretKey);
      const full: Source = { ...source, configurationId: configuration.id, publish };
      await full.publish();
      sources.push(full);
    }

    const workerEnv = {
      DATABASE_URL: database.url,
      PROVISIONING_SECRET_KEY: secretKey.toString('base64'),
      CONNECTOR_ALLOWED_HOSTS: '127.0.0.1',
      WORKER_HTTP_PORT: '0',
      LOG_LEVEL: 'info',
      RUN_STALE_AFTER_SECONDS: String(options.staleAfterSeconds),
    };
    let peakRss = 0;
    const sample = () => {
      for (const worker of workers) {
        worker.peakRssMb = Math.max(worker.peakRssMb, peakRssMb(worker.process.pid));
        peakRss = Math.max(peakRss, worker.peakRssMb);
      }
    };
    sampler = setInterval(sample, 1000);

    // Solo: each first import alone on one worker, then one churned run of each connector alone.
    workers.push(await startWorkerProcess('A', workerEnv));
    log(`solo: first import of ${options.organisations} × ${options.users} users, one at a time`);
    for (const source of sources) {
      const first = await runOnce(orm, boss, source.configurationId);
      if (!APPLIED.includes(first.status))
        throw new Error(`The first import of ${source.connector} ended ${first.status}`);
    }
    // The median of three: one run's time on a machine others share swings by 2× from minute to minute.
    const soloMs = new Map<Connector, number>();
    for (const connector of new Set(sources.map((source) => source.connector))) {
      const source = sources.find((s) => s.connector === connector)!;
      const samples: number[] = [];
      for (let sample = 0; sample < SOLO_SAMPLES; sample++) {
        churn(source, options.churn, next);
        await source.publish();
        const solo = await runOnce(orm, boss, source.configurationId);
        if (!APPLIED.includes(solo.status))
          throw new Error(`The solo run of ${connector} ended ${solo.status}`);
        samples.push(solo.ms);
      }
      soloMs.set(connector, percentile(samples, 50));
      log(
        `solo: ${connector} run after ${Math.round(options.churn * 100)}% churn took ${samples.join(', ')} ms (median ${percentile(samples, 50)} ms)`,
      );
    }

    // The soak: a second worker; each configuration's run queued once a minute, at its own second of the
    // minute, as customers' schedules are spread over the day rather than all due at once (the scheduler
    // job's cron has minutes only, and would queue every configuration in the same second); kills.
    workers.push(await startWorkerProcess('B', workerEnv));
    const soakStart = new Date();
    const end = Date.now() + options.minutes * 60_000;
    const killGap = () =>
      1000 *
      (options.killEverySeconds[0] + next() * (options.killEverySeconds[1] - options.killEverySeconds[0]));
    let nextKill = Date.now() + killGap();
    const nextTrigger = sources.map((_, index) => Date.now() + (index * 60_000) / sources.length);
    let kills = 0;
    /** The runs in progress (and their attempts) at each kill, to tell afterwards which ones it hit. */
    const inProgressAtKills: { runId: string; attempt: number }[][] = [];
    /** From each kill to its worker being back: a slow run that overlaps one shared the cores with a start-up. */
    const restarts: { from: number; to: number }[] = [];
    /** When the sources changed (churn and publish run in this process, on the same cores as the runs). */
    const publishes: { from: number; to: number }[] = [];
    while (Date.now() < end) {
      for (const [index, source] of sources.entries()) {
        if (Date.now() < nextTrigger[index]!) continue;
        nextTrigger[index]! += 60_000;
        // The source changes only while no run of it is queued or in progress, so no run reads a source
        // that changes under it (a Google listing changed between pages is refused as a broken fetch).
        // Nothing else queues its runs, so none can start before the trigger below.
        const [unfinished] = await sql<{ count: string }>(
          orm.em.fork(),
          `select count(*) from sync_run where configuration_id = ? and status in ('queued', 'in_progress')`,
          [source.configurationId],
        );
        if (Number(unfinished!.count) === 0) {
          const publishedFrom = Date.now();
          churn(source, options.churn, next);
          await source.publish();
          publishes.push({ from: publishedFrom, to: Date.now() });
        }
        // What the scheduler job does for a due configuration (joins the queued run if there is one).
        await triggerRun(orm, boss, source.configurationId, 'schedule');
      }
      if (Date.now() >= nextKill && (options.maxKills === undefined || kills < options.maxKills)) {
        const index = Math.floor(next() * workers.length);
        const victim = workers[index]!;
        sample();
        const inProgress = await sql<{ runId: string; attempt: number }>(
          orm.em.fork(),
          `select id as "runId", attempt from sync_run where status = 'in_progress'`,
        );
        const killedAt = Date.now();
        await stopWorkerProcess(victim, 'SIGKILL');
        kills += 1;
        inProgressAtKills.push(inProgress);
        log(`kill ${kills}: SIGKILL worker ${victim.name} (${inProgress.length} runs in progress)`);
        const restarted = await startWorkerProcess(victim.name, workerEnv);
        restarts.push({ from: killedAt, to: Date.now() });
        restarted.peakRssMb = victim.peakRssMb;
        workers[index] = restarted;
        nextKill = Date.now() + killGap();
      }
      const killsLeft = options.maxKills === undefined || kills < options.maxKills;
      // Until the next trigger, kill or the end, whichever comes first.
      await wait(Math.max(0, Math.min(...nextTrigger, killsLeft ? nextKill : end, end) - Date.now()));
    }

    // Drain: no more triggers; every run ends (killed runs once the reaper takes them back); then a final
    // run of each configuration reads the sources as they now stand.
    log('drain: no more runs queued, waiting for every run to end');
    await until('every run to end', DRAIN_LIMIT_MS, async () => (await unfinishedRuns(orm!)) === 0);
    // Queued over a minute as the soak's runs were, not all in the same second: they are timed with them.
    const finals = await Promise.all(
      sources.map(async (source, index) => {
        await wait((index * 60_000) / sources.length);
        return runOnce(orm!, boss!, source.configurationId);
      }),
    );
    sample();

    // Checks.
    const checks: SoakCheck[] = [];
    const unfinished = await unfinishedRuns(orm);
    checks.push({
      name: 'no run left queued or in progress',
      kind: 'correctness',
      passed: unfinished === 0,
      detail: `${unfinished} left`,
    });
    const [stale] = await sql<{ count: string }>(
      orm.em.fork(),
      `select count(*) from sync_run where status = 'in_progress' and heartbeat_at < now() - make_interval(secs => ?)`,
      [options.staleAfterSeconds],
    );
    checks.push({
      name: `no heartbeat older than ${options.staleAfterSeconds} s`,
      kind: 'correctness',
      passed: Number(stale!.count) === 0,
      detail: `${stale!.count} stale`,
    });
    const [{ deadlocks: deadlocksAfter }] = (await sql<{ deadlocks: string }>(
      orm.em.fork(),
      'select deadlocks from pg_stat_database where datname = current_database()',
    )) as [{ deadlocks: string }];
    checks.push({
      name: 'pg_stat_database.deadlocks unchanged',
      kind: 'correctness',
      passed: deadlocksAfter === deadlocksBefore,
      detail: `${deadlocksBefore} → ${deadlocksAfter}`,
    });
    const mismatches: string[] = [];
    for (const [index, source] of sources.entries()) {
      const final = finals[index]!;
      const rows = await sql<{ email: string; department: string | null }>(
        orm.em.fork(),
        `select lower(email) as email, department from directory_user
         where managed_by_id = ? and status = 'active'`,
        [source.configurationId],
      );
      const expected = expectedDirectory(source);
      const actual = new Map(rows.map((row) => [row.email, row.department ?? '']));
      const missing = [...expected.keys()].filter((email) => !actual.has(email)).length;
      const extra = [...actual.keys()].filter((email) => !expected.has(email)).length;
      const moved = [...expected].filter(
        ([email, department]) => actual.has(email) && actual.get(email) !== department,
      ).length;
      if (!APPLIED.includes(final.status) || missing + extra + moved > 0) {
        mismatches.push(
          `${source.connector} #${index + 1}: last run ${final.status}, ${missing} missing, ${extra} extra, ${moved} in another department`,
        );
      }
    }
    checks.push({
      name: "each configuration's directory equals its source as its last run read it",
      kind: 'correctness',
      passed: mismatches.length === 0,
      detail: mismatches.length === 0 ? `${sources.length} configurations match` : mismatches.join('; '),
    });
    /**
     * A kill hit a run when the run was in progress on attempt a at the kill and attempt a did not finish
     * it: a later attempt did, or it ended Cancelled on attempt a (which, in the soak, only the reaper does).
     */
    const hitByKill = (run: { id: string; attempt: number; status: string }) =>
      inProgressAtKills.some((held) =>
        held.some(
          (h) =>
            h.runId === run.id &&
            (run.attempt > h.attempt || (run.attempt === h.attempt && run.status === 'cancelled')),
        ),
      );
    const soakRuns = await sql<{
      id: string;
      connector: Connector;
      duration_ms: number;
      attempt: number;
      status: string;
      started_ms: number | null;
      finished_ms: number | null;
    }>(
      orm.em.fork(),
      `select id, connector, duration_ms, attempt, status,
         (extract(epoch from started_at) * 1000)::float8 as started_ms,
         (extract(epoch from finished_at) * 1000)::float8 as finished_ms
       from sync_run where queued_at >= ?`,
      [soakStart],
    );
    const duringRestart = (run: { started_ms: number | null; finished_ms: number | null }) =>
      run.started_ms !== null &&
      run.finished_ms !== null &&
      restarts.some(
        (restart) => restart.from < (run.finished_ms as number) && restart.to > (run.started_ms as number),
      );
    /** Other runs in progress during `run`: their connectors, and how many there were on average. */
    const sharedWith = (run: (typeof soakRuns)[number]) => {
      if (run.started_ms === null || run.finished_ms === null) return '';
      const [from, to] = [run.started_ms, run.finished_ms];
      let overlapMs = 0;
      const connectors: string[] = [];
      for (const other of soakRuns) {
        if (other.id === run.id || other.started_ms === null) continue;
        const end = other.finished_ms ?? to;
        const shared = Math.min(end, to) - Math.max(other.started_ms, from);
        if (shared <= 0) continue;
        overlapMs += shared;
        connectors.push(other.connector);
      }
      const publishedMs = publishes.reduce(
        (sum, publish) => sum + Math.max(0, Math.min(publish.to, to) - Math.max(publish.from, from)),
        0,
      );
      const average = overlapMs / Math.max(1, to - from);
      return `, beside ${connectors.length} other run(s)${connectors.length ? ` (${connectors.join(', ')})` : ''}, ${average.toFixed(1)} on average, sources republished ${publishedMs} ms of it`;
    };
    const durations = [...soloMs].map(([connector, solo]) => {
      const applied = soakRuns.filter((run) => run.connector === connector && APPLIED.includes(run.status));
      // A run a kill hit is timed from its first start, through the stale limit and the reaper, to its end:
      // its time is the recovery's, not a slow run's, and is reported beside the timing, not in it.
      const timedRuns = applied.filter((run) => !hitByKill(run));
      const timed = timedRuns.map((run) => run.duration_ms);
      const recovered = applied.filter(hitByKill).map((run) => run.duration_ms);
      // The slow runs, slowest first: how slow, and whether a worker was starting meanwhile.
      const slowRuns = timedRuns
        .filter((run) => run.duration_ms > SLOWDOWN_LIMIT * solo)
        .sort((a, b) => b.duration_ms - a.duration_ms);
      return {
        connector,
        users: options.users,
        soloMs: solo,
        runs: timed.length,
        p50Ms: percentile(timed, 50),
        p95Ms: percentile(timed, 95),
        recoveredRuns: recovered.length,
        recoveredMaxMs: recovered.length === 0 ? null : Math.max(...recovered),
        slow: slowRuns.length,
        slowRuns: slowRuns
          .slice(0, 5)
          .map(
            (run) =>
              `${run.duration_ms} ms = ${(run.duration_ms / solo).toFixed(1)}×${duringRestart(run) ? ' during a worker restart' : ''}${sharedWith(run)}`,
          ),
      };
    });
    const slow = durations.filter((figure) => figure.slow > 0);
    checks.push({
      name: `each run within ${SLOWDOWN_LIMIT}× its solo time`,
      kind: 'timing',
      passed: slow.length === 0,
      detail:
        slow.length === 0
          ? `${durations.reduce((sum, figure) => sum + figure.runs, 0)} runs`
          : slow
              .map(
                (figure) =>
                  `${figure.connector}: ${figure.slow} of ${figure.runs} slower (${figure.slowRuns.join(', ')})`,
              )
              .join('; '),
    });
    const runsByStatus: Record<string, number> = {};
    for (const run of soakRuns) runsByStatus[run.status] = (runsByStatus[run.status] ?? 0) + 1;
    const unappliedRuns = await sql<{
      id: string;
      connector: Connector;
      configuration_id: string;
      status: string;
      error_summary: string | null;
      attempt: number;
    }>(
      orm.em.fork(),
      `select id, connector, configuration_id, status, error_summary, attempt from sync_run
       where queued_at >= ? and status <> all(?::text[])`,
      [soakStart, APPLIED],
    );
    const unapplied = groupUnappliedRuns(
      unappliedRuns.map((run) => ({
        connector: run.connector,
        organisation: sources.findIndex((source) => source.configurationId === run.configuration_id) + 1,
        status: run.status,
        errorSummary: run.error_summary,
        killed: hitByKill(run),
      })),
    );
    return {
      kills,
      recoveries: soakRuns.filter((run) => run.attempt > 1).length,
      runsByStatus,
      unapplied,
      durations: durations.map(({ slow: _slow, slowRuns: _slowRuns, ...figure }) => figure),
      workerPeakRssMb: peakRss,
      checks,
      passed: checks.every((check) => check.passed),
    };
  } finally {
    if (sampler) clearInterval(sampler);
    await Promise.all(workers.map((worker) => stopWorkerProcess(worker, 'SIGTERM')));
    await boss?.stop({ graceful: false, wait: true }).catch(() => {});
    await orm?.close(true);
    await Promise.all(servers.map((server) => server.stop().catch(() => {})));
    rmSync(sftpRoot, { recursive: true, force: true });
    await database.drop();
  }
}

/** Groups runs that did not apply by connector, organisation, status and message, most frequent first. */
export function groupUnappliedRuns(
  runs: readonly (Omit<UnappliedRunGroup, 'runs' | 'killed'> & { killed: boolean })[],
): UnappliedRunGroup[] {
  const groups = new Map<string, UnappliedRunGroup>();
  for (const run of runs) {
    const key = JSON.stringify([run.connector, run.organisation, run.status, run.errorSummary]);
    const group = groups.get(key) ?? {
      connector: run.connector,
      organisation: run.organisation,
      status: run.status,
      errorSummary: run.errorSummary,
      runs: 0,
      killed: 0,
    };
    group.runs += 1;
    if (run.killed) group.killed += 1;
    groups.set(key, group);
  }
  return [...groups.values()].sort(
    (a, b) => b.runs - a.runs || a.organisation - b.organisation || a.status.localeCompare(b.status),
  );
}

/** A message cut to one line of at most `max` characters. */
function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The report as the script prints it. */
export function formatSoakReport(report: SoakReport): string {
  const lines = [
    `kills: ${report.kills}, recoveries (runs finished by another worker): ${report.recoveries}`,
    `runs: ${Object.entries(report.runsByStatus)
      .map(([status, count]) => `${status} ${count}`)
      .join(', ')}`,
    ...(report.unapplied.length === 0
      ? ['runs not applied: none']
      : [
          'runs not applied (connector, organisation, status, runs, of which a kill hit, message):',
          ...report.unapplied.map(
            (group) =>
              `  ${group.connector} #${group.organisation} ${group.status} ×${group.runs} (kill hit ${group.killed}): ${oneLine(group.errorSummary ?? '(no message)', 160)}`,
          ),
        ]),
    'connector          users   solo      runs   p50       p95       p95/solo',
    ...report.durations.map(
      (f) =>
        `${f.connector.padEnd(18)} ${String(f.users).padStart(6)} ${`${f.soloMs} ms`.padStart(9)} ${String(f.runs).padStart(5)} ${`${f.p50Ms} ms`.padStart(9)} ${`${f.p95Ms} ms`.padStart(9)} ${`${(f.p95Ms / f.soloMs).toFixed(1)}×`.padStart(8)}`,
    ),
    ...(report.durations.some((f) => f.recoveredRuns > 0)
      ? [
          `applied after a kill, not timed (their time includes the kill's recovery): ${report.durations
            .filter((f) => f.recoveredRuns > 0)
            .map((f) => `${f.connector} ${f.recoveredRuns} (longest ${f.recoveredMaxMs} ms)`)
            .join(', ')}`,
        ]
      : []),
    `worker peak RSS: ${report.workerPeakRssMb.toFixed(0)} MB`,
    ...report.checks.map((check) => `${check.passed ? 'PASS' : 'FAIL'}  ${check.name} (${check.detail})`),
  ];
  return lines.join('\n');
}
