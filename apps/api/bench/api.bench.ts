/**
 * `pnpm bench:api`: the API's reads at production size, on the PostgreSQL at DATABASE_URL or
 * 127.0.0.1:5432, in a database of its own that is dropped at the end (also on failure or Ctrl-C).
 *
 * - `runs.list` (listRuns through the repository: the row-level-security transaction and the
 *   organisation's time zone lookup included) for an organisation with 100k runs among 1M: p50/p95 of
 *   the first page and of a deep page (~10,000 rows in, by the real cursor) for each filter, beside the
 *   same SELECT sent bare as the superuser.
 * - Log export of a 200k-entry run to CSV and XLSX, each in a process of its own (its peak RSS), beside a
 *   bare batched SELECT of the same rows written as lines.
 * - A load run on loopback: 50 connections on `GET /trpc/runs.list` and on `GET /trpc/runs.get` of the
 *   real app, signed in, each beside a bare node:http + pg server answering the same query; and runs.list
 *   again while 100 HEADs and 100 stalled downloads of the 200k-line XLSX log are made (the security
 *   report's attack).
 * - A burst of 10 downloads of the 200k-line CSV log at once through the app, beside 10 bare reads.
 *
 * Targets (DESIGN.md and the operability issue): p95 ≤ 50 ms per page; export CSV ≤ 5 s, XLSX ≤ 15 s,
 * peak RSS ≤ 512 MB; under load, at least 0.5× the bare server's requests/s with p99 at most 3× its p99.
 * Absolute times drift on shared machines: read the ratios. A page whose p95 misses gets its EXPLAIN
 * ANALYZE printed; `--plans` prints every page's.
 *
 * `--load-only` runs the load run and the burst alone (after the same seeding), to try a change to the
 * request path quickly; `--cpu-prof DIR` writes a V8 CPU profile of every server process into DIR.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import { serve } from '@hono/node-server';
import {
  API_DATABASE_ROLE,
  createOrm,
  listRuns,
  migrate,
  type Orm,
  RUN_DETAILS_SELECT,
  runPageQuery,
} from '@provisioning/db';
import { createTestDatabase, type TestDatabase } from '@provisioning/db/testing';
import {
  type LogFormat,
  type RunListFilter,
  type RunListFilterInput,
  RunListInputSchema,
} from '@provisioning/shared';
import { exportRunLog, LOG_CHUNK_LINES, LOG_EXPORT_BATCH_SIZE } from '@provisioning/sync';
import { median, percentile, time } from '@provisioning/testkit';
import autocannon from 'autocannon';
import pg from 'pg';
import { pino } from 'pino';
import { PASSWORD, seedOrganisation } from '../src/api-harness.test-support.ts';
import { createApp } from '../src/app.ts';
import { DownloadSlots } from '../src/http/download-slots.ts';
import { FILTERED_CONFIGURATION, seedLog, seedRuns } from './seed-runs.ts';
import { ms, seconds } from './timing.ts';

const PAGE_SIZE = 50;
/** Timed calls per case (after WARMUP untimed ones), alternating the app's call and the bare query. */
const REPETITIONS = 100;
const WARMUP = 10;
/** A case whose calls are slow stops early (with at least MIN_SAMPLES), to keep the whole run bounded. */
const CASE_BUDGET_MS = 15_000;
const MIN_SAMPLES = 20;
/** How far in the deep page starts: rows skipped by following real cursors (pages of 200). */
const DEEP_ROWS = 10_000;
const LOG_ROWS = 200_000;
const LOAD_CONNECTIONS = 50;
const LOAD_SECONDS = 5;
const LOAD_WARMUP_SECONDS = 2;
/** The warm-up of each side of a pair, at full load. */
const PAIR_WARMUP_SECONDS = 5;
/** Not UTC, so the date filters' time-zone arithmetic is part of what is measured. */
const TIME_ZONE = 'Europe/Paris';
/** The page query reads the organisation's zone from `app.time_zone` (set by listRuns); bare sessions set it at connect. */
const BARE_TIME_ZONE_OPTION = `-c app.time_zone=${TIME_ZONE}`;

const TARGET_PAGE_P95_MS = 50;
const TARGET_EXPORT_MS: Record<LogFormat, number> = { csv: 5_000, xlsx: 15_000 };
const TARGET_RSS_MB = 512;
/** The app under load against the bare server answering the same query (issue targets). */
const TARGET_LOAD_THROUGHPUT = 0.5;
const TARGET_LOAD_P99 = 3;

const verdict = (met: boolean) => (met ? 'PASS' : 'MISS');

// --- runs.list -----------------------------------------------------------------------------------------

interface BareQuery {
  text: string;
  values: unknown[];
}

/**
 * listRuns' page query (`runPageQuery`, the same function), sent without the ORM, the transaction, the
 * role switch or row-level security (so the planner may choose differently: that is part of what the
 * ratio shows). Its `?` placeholders become `$n` parameters of an unnamed statement, which PostgreSQL
 * plans for these very values. The first call of every case checks both return the same rows.
 */
function bareListQuery(
  organisationId: string,
  filter: RunListFilter,
  cursor: string | null,
  now: Date,
): BareQuery {
  const { sql, params } = runPageQuery(organisationId, filter, cursor, PAGE_SIZE, now);
  const values: unknown[] = [];
  const bind = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  let next = 0;
  // An array would stay one parameter, as the sql helper sends it.
  const text = sql.replace(/\?/g, () => bind(params[next++]));
  return { text, values };
}

interface ListFigure {
  filter: string;
  page: string;
  rows: number;
  samples: number;
  p50: number;
  p95: number;
  bareP50: number;
  bareP95: number;
  query: BareQuery;
}

interface ListContext {
  appOrm: Orm;
  bare: pg.Client;
  organisationId: string;
  now: Date;
}

/** The cursor ~DEEP_ROWS rows in, following real cursors; null when the filter has fewer than 200 rows. */
async function deepCursor(
  context: ListContext,
  filter: RunListFilterInput,
): Promise<[string | null, number]> {
  let cursor: string | null = null;
  let skipped = 0;
  while (skipped < DEEP_ROWS) {
    const page = await listRuns(
      context.appOrm.em.fork(),
      context.organisationId,
      { filter, cursor, limit: 200 },
      context.now,
    );
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
    skipped += page.runs.length;
  }
  return [cursor, skipped];
}

async function measureList(
  context: ListContext,
  name: string,
  filterInput: RunListFilterInput,
  cursor: string | null,
  page: string,
): Promise<ListFigure> {
  const { filter } = RunListInputSchema.parse({ filter: filterInput });
  const query = bareListQuery(context.organisationId, filter, cursor, context.now);
  const viaApp = () =>
    listRuns(
      context.appOrm.em.fork(),
      context.organisationId,
      { filter: filterInput, cursor, limit: PAGE_SIZE },
      context.now,
    );
  const viaBare = () => context.bare.query<{ id: string }>(query);

  const [appPage, barePage] = [await viaApp(), await viaBare()];
  const appIds = appPage.runs.map((run) => run.id).join();
  const bareIds = barePage.rows
    .slice(0, PAGE_SIZE)
    .map((row) => row.id)
    .join();
  if (appIds !== bareIds) throw new Error(`${name} ${page}: the bare query no longer matches listRuns`);

  const app: number[] = [];
  const bare: number[] = [];
  const started = performance.now();
  for (let i = 0; i < WARMUP + REPETITIONS; i += 1) {
    const [, appMs] = await time(viaApp);
    const [, bareMs] = await time(viaBare);
    if (i >= WARMUP) {
      app.push(appMs);
      bare.push(bareMs);
      if (app.length >= MIN_SAMPLES && performance.now() - started > CASE_BUDGET_MS) break;
    }
  }
  return {
    filter: name,
    page,
    rows: appPage.runs.length,
    samples: app.length,
    p50: percentile(app, 50),
    p95: percentile(app, 95),
    bareP50: percentile(bare, 50),
    bareP95: percentile(bare, 95),
    query,
  };
}

/** The plan of a page query as the API's role runs it: in a transaction, row-level security applying. */
async function explain(context: ListContext, query: BareQuery): Promise<string> {
  const { bare, organisationId } = context;
  await bare.query('begin');
  try {
    await bare.query(`set local role ${API_DATABASE_ROLE}`);
    await bare.query(`select set_config('app.organisation_id', $1, true)`, [organisationId]);
    const { rows } = await bare.query<{ 'QUERY PLAN': string }>({
      text: `explain (analyze, buffers) ${query.text}`,
      values: query.values,
    });
    return rows.map((row) => `    ${row['QUERY PLAN']}`).join('\n');
  } finally {
    await bare.query('rollback');
  }
}

function calendarDay(date: Date, daysBefore: number): string {
  return new Date(date.getTime() - daysBefore * 86_400_000).toISOString().slice(0, 10);
}

async function benchList(context: ListContext, configurationId: string): Promise<ListFigure[]> {
  const filters: [string, RunListFilterInput][] = [
    ['no filter (newest)', {}],
    ['oldest first', { sort: 'oldest' }],
    ['last 7 days', { range: 'last7' }],
    ['last 30 days', { range: 'last30' }],
    [
      'custom range, 90 days',
      { range: 'custom', from: calendarDay(context.now, 400), to: calendarDay(context.now, 311) },
    ],
    ['one configuration', { configurationId }],
    ['one status', { statuses: ['needs_attention'] }],
    ['failed + cancelled', { statuses: ['data_load_failed', 'above_deactivation_threshold', 'cancelled'] }],
    ['cancelled only', { statuses: ['cancelled'] }],
    [
      '30 days, config, failed',
      { range: 'last30', configurationId, statuses: ['data_load_failed', 'cancelled'] },
    ],
    ['one source (Google, 10%)', { sources: ['google-workspace'] }],
    ['two sources', { sources: ['workday', 'google-workspace'] }],
    [
      'two sources, failed + cancelled',
      { sources: ['workday', 'google-workspace'], statuses: ['data_load_failed', 'cancelled'] },
    ],
    ['30 days, SFTP, cancelled', { range: 'last30', sources: ['sftp'], statuses: ['cancelled'] }],
  ];
  const figures: ListFigure[] = [];
  for (const [name, filter] of filters) {
    const first = await measureList(context, name, filter, null, 'first');
    const [cursor, skipped] = await deepCursor(context, filter);
    const deep = cursor === null ? null : await measureList(context, name, filter, cursor, `+${skipped}`);
    figures.push(first, ...(deep ? [deep] : []));
    console.log(
      `  ${name}: p95 ${ms(first.p95)} first page${deep ? `, ${ms(deep.p95)} ${skipped} rows in` : ''}`,
    );
  }
  return figures;
}

// --- log export ----------------------------------------------------------------------------------------

interface ExportFigure {
  format: LogFormat;
  ms: number;
  rssMb: number;
  bytes: number;
  baselineMs: number;
  baselineRssMb: number;
}

interface ChildResult {
  ms: number;
  rssMb: number;
  rows: number;
  bytes: number;
}

/** One export in a process of its own, so its peak RSS is the export's alone. */
function inChildProcess(args: string[]): ChildResult {
  const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1] as string, ...args], {
    encoding: 'utf8',
  });
  if (child.status !== 0) throw new Error(`${args[0]} process failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop() ?? '') as ChildResult;
}

/** The child side: exportRunLog as the download route calls it, on the API's role, into a file. */
async function exportInThisProcess(
  databaseUrl: string,
  runId: string,
  organisationId: string,
  format: LogFormat,
  path: string,
) {
  const orm = await createOrm({ databaseUrl, role: API_DATABASE_ROLE });
  try {
    const [result, elapsed] = await time(() =>
      exportRunLog({ em: orm.em.fork(), runId, format, output: createWriteStream(path), organisationId }),
    );
    const rssMb = process.resourceUsage().maxRSS / 1024;
    console.log(JSON.stringify({ ms: elapsed, rssMb, rows: result.rows, bytes: statSync(path).size }));
  } finally {
    await orm.close(true);
  }
}

/**
 * The baseline's read: the same stored chunks, about as many lines per query, as the superuser, written
 * as they are stored (a JSON array of lines per chunk), nothing decoded. Returns the lines read.
 */
async function bareExport(databaseUrl: string, runId: string, path: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const output = createWriteStream(path);
    const chunksPerQuery = Math.ceil(LOG_EXPORT_BATCH_SIZE / LOG_CHUNK_LINES);
    let after = -1;
    let count = 0;
    for (;;) {
      const { rows: batch } = await client.query<{ first_seq: number; last_seq: number; lines: string }>({
        text: `select first_seq, last_seq, lines::text as lines from sync_log_chunk
               where run_id = $1 and first_seq > $2 order by first_seq limit $3`,
        values: [runId, after, chunksPerQuery],
      });
      let text = '';
      for (const chunk of batch) {
        text += `${chunk.lines}\n`;
        count += chunk.last_seq - chunk.first_seq + 1;
      }
      if (!output.write(text)) await once(output, 'drain');
      if (batch.length < chunksPerQuery) break;
      after = batch[batch.length - 1]!.first_seq;
    }
    output.end();
    await finished(output);
    return count;
  } finally {
    await client.end();
  }
}

/** The baseline's child side: `copies` bare reads at once, each into a file of its own. */
async function bareExportInThisProcess(databaseUrl: string, runId: string, dir: string, copies: number) {
  const paths = Array.from({ length: copies }, (_, index) => join(dir, `log-${index}.txt`));
  const [counts, elapsed] = await time(() =>
    Promise.all(paths.map((path) => bareExport(databaseUrl, runId, path))),
  );
  const rssMb = process.resourceUsage().maxRSS / 1024;
  const rows = counts.reduce((sum, count) => sum + count, 0);
  const bytes = paths.reduce((sum, path) => sum + statSync(path).size, 0);
  console.log(JSON.stringify({ ms: elapsed, rssMb, rows, bytes }));
}

function benchExport(databaseUrl: string, runId: string, organisationId: string): ExportFigure[] {
  const dir = mkdtempSync(join(tmpdir(), 'bench-api-'));
  try {
    const baseline = inChildProcess(['--bare-export', databaseUrl, runId, dir, '1']);
    if (baseline.rows !== LOG_ROWS) throw new Error(`the baseline read ${baseline.rows} rows`);
    return (['csv', 'xlsx'] as const).map((format) => {
      const result = inChildProcess([
        '--export',
        databaseUrl,
        runId,
        organisationId,
        format,
        join(dir, `log.${format}`),
      ]);
      if (result.rows !== LOG_ROWS) throw new Error(`the ${format} export wrote ${result.rows} rows`);
      console.log(`  ${format}: ${seconds(result.ms)}, ${result.rssMb.toFixed(0)} MB peak RSS`);
      return {
        format,
        ms: result.ms,
        rssMb: result.rssMb,
        bytes: result.bytes,
        baselineMs: baseline.ms,
        baselineRssMb: baseline.rssMb,
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- load run ------------------------------------------------------------------------------------------

/**
 * The real app as main.ts builds it (API role, request log at info level, here into /dev/null). With
 * `exports`, that many log exports may run at once (the burst), where the app's default allows 2 per
 * session and 4 in all.
 */
async function serveInThisProcess(databaseUrl: string, exports?: number) {
  const orm = await createOrm({ databaseUrl, role: API_DATABASE_ROLE });
  const app = createApp({
    orm,
    logger: pino({ level: 'info' }, pino.destination('/dev/null')),
    ...(exports ? { downloadSlots: new DownloadSlots({ perSession: exports, perProcess: exports }) } : {}),
  });
  serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (address) => {
    console.log(JSON.stringify({ port: address.port }));
  });
  reportRssOnExit();
}

/**
 * The load baseline: node:http and a pg pool of the ORM's size, answering the same queries bare: `/get`
 * the details of `runId`, anything else the runs list's first page.
 */
async function serveBareInThisProcess(databaseUrl: string, organisationId: string, runId: string) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, options: BARE_TIME_ZONE_OPTION });
  const { filter } = RunListInputSchema.parse({});
  const details = {
    text: `${RUN_DETAILS_SELECT} where r.id = $1 and r.organisation_id = $2`,
    values: [runId, organisationId],
  };
  const server = createServer((request, response) => {
    const query = request.url === '/get' ? details : bareListQuery(organisationId, filter, null, new Date());
    pool.query(query).then(
      ({ rows }) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(rows.slice(0, PAGE_SIZE)));
      },
      () => {
        response.writeHead(500).end();
      },
    );
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    console.log(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }));
  });
  reportRssOnExit();
}

/** On SIGTERM from the benchmark: the server process's peak RSS, then exit. */
function reportRssOnExit() {
  process.once('SIGTERM', () => {
    console.log(JSON.stringify({ rssMb: process.resourceUsage().maxRSS / 1024 }));
    process.exit(0);
  });
}

interface Server {
  port: number;
  stop(): Promise<number>;
}

const servers = new Set<ChildProcess>();

/** `--cpu-prof DIR`: where the server processes write their CPU profiles (none without it). */
const CPU_PROFILE_DIR = optionValue('--cpu-prof');

function optionValue(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index < 0 ? undefined : process.argv[index + 1];
}

/** A server in a process of its own, so the load generator here does not share its event loop. */
async function startServer(args: string[]): Promise<Server> {
  const profile = CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROFILE_DIR}`] : [];
  const child = spawn(
    process.execPath,
    [...process.execArgv, ...profile, process.argv[1] as string, ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  servers.add(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = await Promise.race([
    lines.next(),
    once(child, 'exit').then(() => {
      throw new Error(`the ${args[0]} server exited before listening`);
    }),
  ]);
  const { port } = JSON.parse(String(first.value)) as { port: number };
  return {
    port,
    async stop() {
      child.kill('SIGTERM');
      const last = await lines.next();
      await once(child, 'exit').catch(() => {});
      servers.delete(child);
      return last.done ? Number.NaN : (JSON.parse(String(last.value)) as { rssMb: number }).rssMb;
    },
  };
}

interface LoadFigure {
  name: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  rssMb: number;
}

async function load(
  name: string,
  server: Server,
  path: string,
  headers: Record<string, string>,
): Promise<LoadFigure> {
  const url = `http://127.0.0.1:${server.port}${path}`;
  await autocannon({ url, connections: 10, duration: LOAD_WARMUP_SECONDS, headers });
  const result = await autocannon({ url, connections: LOAD_CONNECTIONS, duration: LOAD_SECONDS, headers });
  const rssMb = await server.stop();
  console.log(`  ${name}: ${result.requests.average.toFixed(0)} requests/s, p99 ${ms(result.latency.p99)}`);
  return loadFigure(name, [result], rssMb);
}

type LoadResult = Awaited<ReturnType<typeof autocannon>>;

/** The median round's figures (requests/s and latencies each the median of the rounds'). */
function loadFigure(name: string, rounds: LoadResult[], rssMb: number): LoadFigure {
  return {
    name,
    requestsPerSecond: median(rounds.map((round) => round.requests.average)),
    p50: median(rounds.map((round) => round.latency.p50)),
    p99: median(rounds.map((round) => round.latency.p99)),
    errors: rounds.reduce((sum, round) => sum + round.errors, 0),
    non2xx: rounds.reduce((sum, round) => sum + round.non2xx, 0),
    rssMb,
  };
}

/** Rounds of the app and the bare server taking turns; the machine drifts more between runs than the changes weighed. */
const LOAD_ROUNDS = 3;

/**
 * The app and the bare server answering the same query, under the same load in turns (app, bare, app,
 * bare...), LOAD_ROUNDS rounds of LOAD_SECONDS each: each figure is the median of its rounds, so a drift
 * of the machine during the run weighs on both sides alike.
 */
async function loadPair(
  name: string,
  app: { server: Server; path: string; headers: Record<string, string> },
  bare: { server: Server; path: string },
): Promise<[LoadFigure, LoadFigure]> {
  const sides = [
    {
      url: `http://127.0.0.1:${app.server.port}${app.path}`,
      headers: app.headers,
      rounds: [] as LoadResult[],
    },
    { url: `http://127.0.0.1:${bare.server.port}${bare.path}`, headers: {}, rounds: [] as LoadResult[] },
  ];
  // At full load: each of the app's pooled connections plans and caches its statements, and the JIT
  // settles, before anything is timed (the first timed round was 30-50% below the others without it).
  for (const side of sides) {
    await autocannon({
      url: side.url,
      connections: LOAD_CONNECTIONS,
      duration: PAIR_WARMUP_SECONDS,
      headers: side.headers,
    });
  }
  for (let round = 0; round < LOAD_ROUNDS; round++) {
    for (const side of sides) {
      side.rounds.push(
        await autocannon({
          url: side.url,
          connections: LOAD_CONNECTIONS,
          duration: LOAD_SECONDS,
          headers: side.headers,
        }),
      );
    }
  }
  const [appSide, bareSide] = sides as [(typeof sides)[0], (typeof sides)[0]];
  const figures: [LoadFigure, LoadFigure] = [
    loadFigure(`${name} (app)`, appSide.rounds, await app.server.stop()),
    loadFigure(`${name} (bare)`, bareSide.rounds, await bare.server.stop()),
  ];
  for (const [index, side] of sides.entries()) {
    const rounds = side.rounds.map((round) => round.requests.average.toFixed(0)).join(', ');
    console.log(`  ${figures[index]!.name}: ${rounds} requests/s in ${LOAD_ROUNDS} rounds`);
  }
  return figures;
}

/** Requests of each kind sent by the abuse run, as in the security report (100 made runs.list take 6–18 s). */
const ABUSE_REQUESTS = 100;

/**
 * What the security report did to the API: HEADs of the largest XLSX log, and downloads of it whose
 * client reads the headers and then nothing. Resolves once every request has been answered; the stalled
 * sockets stay open (the caller destroys them).
 */
async function abuse(port: number, cookie: string, runId: string): Promise<Socket[]> {
  const request = (method: string) =>
    `${method} /api/runs/${runId}/log.xlsx HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${cookie}\r\n\r\n`;
  const sockets = await Promise.all(
    Array.from({ length: 2 * ABUSE_REQUESTS }, async (_, index) => {
      const socket = connect(port, '127.0.0.1');
      socket.write(request(index % 2 === 0 ? 'HEAD' : 'GET'));
      await once(socket, 'data');
      socket.pause();
      return socket;
    }),
  );
  return sockets;
}

/** Signs `email` in on a running app; its session cookie (`name=value`). */
async function signIn(port: number, email: string): Promise<string> {
  const origin = `http://127.0.0.1:${port}`;
  const response = await fetch(`${origin}/trpc/auth.signIn`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  const cookie = response.headers.get('set-cookie')?.split(';')[0];
  if (response.status !== 200 || !cookie)
    throw new Error(`sign-in failed: ${response.status} ${await response.text()}`);
  return cookie;
}

/** Checks a procedure answers as it should before it is put under load. */
async function expectData(port: number, path: string, cookie: string, check: (data: unknown) => boolean) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { cookie } });
  const body = (await response.json()) as { result?: { data?: unknown } };
  if (!check(body.result?.data)) throw new Error(`${path} answered ${response.status}`);
}

interface LoadFigures {
  /** Pairs of the app's figure and the bare server's answering the same query. */
  pairs: [LoadFigure, LoadFigure][];
  attacked: LoadFigure;
  burst: BurstFigure;
}

async function benchLoad(
  databaseUrl: string,
  organisationId: string,
  email: string,
  logRunId: string,
): Promise<LoadFigures> {
  const listPath = `/trpc/runs.list?input=${encodeURIComponent(JSON.stringify({ filter: {}, limit: PAGE_SIZE }))}`;
  const getPath = `/trpc/runs.get?input=${encodeURIComponent(JSON.stringify({ runId: logRunId }))}`;
  const serve = ['--serve', databaseUrl];
  const serveBare = ['--serve-bare', databaseUrl, organisationId, logRunId];

  const list = await startServer(serve);
  const cookie = await signIn(list.port, email);
  await expectData(
    list.port,
    listPath,
    cookie,
    (data) => (data as { runs?: unknown[] }).runs?.length === PAGE_SIZE,
  );
  await expectData(list.port, getPath, cookie, (data) => (data as { id?: string }).id === logRunId);
  const listPair = await loadPair(
    'runs.list',
    { server: list, path: listPath, headers: { cookie } },
    { server: await startServer(serveBare), path: '/list' },
  );
  const getPair = await loadPair(
    'runs.get',
    { server: await startServer(serve), path: getPath, headers: { cookie } },
    { server: await startServer(serveBare), path: '/get' },
  );
  const abused = await startServer(serve);
  const held = await abuse(abused.port, cookie, logRunId);
  const attacked = await load('runs.list (attacked)', abused, listPath, { cookie });
  for (const socket of held) socket.destroy();
  const burst = await benchBurst(databaseUrl, cookie, logRunId);
  return {
    pairs: [listPair, getPair],
    attacked,
    burst,
  };
}

/** Log downloads started at once in the burst. */
const BURST_DOWNLOADS = 10;

interface BurstFigure {
  ms: number;
  rssMb: number;
  bytes: number;
  bareMs: number;
  bareRssMb: number;
}

/**
 * BURST_DOWNLOADS downloads of the 200k-line CSV log at once, through the app (its export limits raised to
 * let all of them run), read to the end; beside as many bare reads of the same rows at once in one process.
 */
async function benchBurst(databaseUrl: string, cookie: string, runId: string): Promise<BurstFigure> {
  const app = await startServer(['--serve', databaseUrl, String(BURST_DOWNLOADS)]);
  const [sizes, elapsed] = await time(() =>
    Promise.all(
      Array.from({ length: BURST_DOWNLOADS }, async () => {
        const response = await fetch(`http://127.0.0.1:${app.port}/api/runs/${runId}/log.csv`, {
          headers: { cookie },
        });
        if (response.status !== 200 || !response.body)
          throw new Error(`a burst download answered ${response.status}`);
        let size = 0;
        for await (const chunk of response.body) size += chunk.byteLength;
        return size;
      }),
    ),
  );
  const rssMb = await app.stop();
  if (new Set(sizes).size !== 1) throw new Error(`the burst's downloads differ in size: ${sizes.join(', ')}`);
  const dir = mkdtempSync(join(tmpdir(), 'bench-api-burst-'));
  try {
    const bare = inChildProcess(['--bare-export', databaseUrl, runId, dir, String(BURST_DOWNLOADS)]);
    if (bare.rows !== BURST_DOWNLOADS * LOG_ROWS) throw new Error(`the bare burst read ${bare.rows} rows`);
    console.log(
      `  burst of ${BURST_DOWNLOADS} CSV downloads: ${seconds(elapsed)}, ${rssMb.toFixed(0)} MB peak RSS`,
    );
    return { ms: elapsed, rssMb, bytes: sizes[0] ?? 0, bareMs: bare.ms, bareRssMb: bare.rssMb };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- main ----------------------------------------------------------------------------------------------

function printSummary(list: ListFigure[], exports: ExportFigure[], loads: LoadFigures, runCounts: string) {
  const misses: string[] = [];
  if (list.length > 0) printListSummary(list, runCounts, misses);
  if (exports.length > 0) printExportSummary(exports, misses);
  printLoadSummary(loads, misses);
  console.log(misses.length === 0 ? '\nAll targets met.' : `\nMISSED:\n  ${misses.join('\n  ')}`);
}

function printListSummary(list: ListFigure[], runCounts: string, misses: string[]) {
  console.log(
    `\nruns.list: listRuns through the repository (RLS transaction) vs the same SELECT bare as superuser`,
  );
  console.log(
    `${runCounts}; pages of ${PAGE_SIZE}; page "+N" starts N rows in (real cursors); n = timed calls of each`,
  );
  console.log(
    'filter                    page     rows    n      p50      p95  bare p50  bare p95  ratio p50/p95  p95 ≤ 50 ms',
  );
  for (const f of list) {
    const met = f.p95 <= TARGET_PAGE_P95_MS;
    if (!met) misses.push(`runs.list ${f.filter}, page ${f.page}: p95 ${ms(f.p95)}`);
    const ratios = `${(f.p50 / f.bareP50).toFixed(1)}× / ${(f.p95 / f.bareP95).toFixed(1)}×`;
    console.log(
      `${f.filter.padEnd(25)} ${f.page.padEnd(7)} ${String(f.rows).padStart(4)} ${String(f.samples).padStart(4)} ${ms(f.p50).padStart(8)} ${ms(f.p95).padStart(8)} ${ms(f.bareP50).padStart(9)} ${ms(f.bareP95).padStart(9)} ${ratios.padStart(14)}  ${verdict(met)}`,
    );
  }
}

function printExportSummary(exports: ExportFigure[], misses: string[]) {
  console.log(
    `\nLog export of ${LOG_ROWS / 1000}k entries (exportRunLog on the API role, to a file), each in its own process`,
  );
  console.log('baseline = bare batched SELECT of the same rows as superuser, written as tab-separated lines');
  console.log('format      time  baseline   ratio  peak RSS  baseline RSS     size  target');
  for (const f of exports) {
    const target = TARGET_EXPORT_MS[f.format];
    const met = f.ms <= target && f.rssMb <= TARGET_RSS_MB;
    if (!met) misses.push(`${f.format} export: ${seconds(f.ms)}, ${f.rssMb.toFixed(0)} MB`);
    console.log(
      `${f.format.toUpperCase().padEnd(6)} ${seconds(f.ms).padStart(9)} ${seconds(f.baselineMs).padStart(9)} ${`${(f.ms / f.baselineMs).toFixed(1)}×`.padStart(7)} ${`${f.rssMb.toFixed(0)} MB`.padStart(9)} ${`${f.baselineRssMb.toFixed(0)} MB`.padStart(13)} ${`${(f.bytes / 1e6).toFixed(1)} MB`.padStart(8)}  ${verdict(met)} (≤ ${seconds(target)}, ≤ ${TARGET_RSS_MB} MB)`,
    );
  }
}

function printLoadSummary(loads: LoadFigures, misses: string[]) {
  console.log(
    `\nLoad run on loopback: ${LOAD_CONNECTIONS} connections; app and bare take turns, ${LOAD_ROUNDS} rounds of ${LOAD_SECONDS} s each (after ${PAIR_WARMUP_SECONDS} s warm-up each), medians of the rounds; the attacked run is one round of ${LOAD_SECONDS} s (after ${LOAD_WARMUP_SECONDS} s); runs.list: first page, default filter; runs.get: one run`,
  );
  console.log('server                  requests/s      p50      p99  errors  non-2xx  server peak RSS');
  for (const f of [...loads.pairs.flat(), loads.attacked]) {
    console.log(
      `${f.name.padEnd(22)} ${f.requestsPerSecond.toFixed(0).padStart(11)} ${ms(f.p50).padStart(8)} ${ms(f.p99).padStart(8)} ${String(f.errors).padStart(7)} ${String(f.non2xx).padStart(8)} ${`${f.rssMb.toFixed(0)} MB`.padStart(16)}`,
    );
    if (f.errors > 0 || f.non2xx > 0) misses.push(`${f.name}: ${f.errors} errors, ${f.non2xx} non-2xx`);
  }
  for (const [app, bare] of loads.pairs) {
    const throughput = app.requestsPerSecond / bare.requestsPerSecond;
    const tail = app.p99 / bare.p99;
    const met = throughput >= TARGET_LOAD_THROUGHPUT && tail <= TARGET_LOAD_P99;
    if (!met)
      misses.push(`${app.name}: ${throughput.toFixed(2)}× the bare requests/s, p99 ${tail.toFixed(1)}×`);
    console.log(
      `${app.name} / bare: requests/s ${throughput.toFixed(2)}× (≥ ${TARGET_LOAD_THROUGHPUT}×), p99 ${tail.toFixed(1)}× (≤ ${TARGET_LOAD_P99}×)  ${verdict(met)}`,
    );
  }
  const [[clean]] = loads.pairs as [[LoadFigure, LoadFigure]];
  console.log(
    `attacked = while ${ABUSE_REQUESTS} HEADs and ${ABUSE_REQUESTS} stalled downloads of the ${LOG_ROWS / 1000}k-line XLSX log were made: p99 ${(loads.attacked.p99 / clean.p99).toFixed(1)}× the clean run's (the report saw 6–18 s)`,
  );
  const { burst } = loads;
  console.log(
    `\nBurst: ${BURST_DOWNLOADS} downloads of the ${LOG_ROWS / 1000}k-line CSV log at once (${(burst.bytes / 1e6).toFixed(1)} MB each), read to the end`,
  );
  console.log(
    `app ${seconds(burst.ms)}, server peak RSS ${burst.rssMb.toFixed(0)} MB; bare ${BURST_DOWNLOADS} reads at once ${seconds(burst.bareMs)}, ${burst.bareRssMb.toFixed(0)} MB; ratio ${(burst.ms / burst.bareMs).toFixed(1)}× (peak RSS ≤ ${TARGET_RSS_MB} MB: ${verdict(burst.rssMb <= TARGET_RSS_MB)})`,
  );
  if (burst.rssMb > TARGET_RSS_MB) misses.push(`burst: server peak RSS ${burst.rssMb.toFixed(0)} MB`);
}

async function main() {
  const showPlans = process.argv.includes('--plans');
  const loadOnly = process.argv.includes('--load-only');
  const started = performance.now();
  const database: TestDatabase = await createTestDatabase('bench_api');
  const dropOnInterrupt = () => {
    for (const child of servers) child.kill('SIGTERM');
    void database.drop().finally(() => process.exit(130));
  };
  process.once('SIGINT', dropOnInterrupt);
  let owner: Orm | undefined;
  let appOrm: Orm | undefined;
  const bare = new pg.Client({ connectionString: database.url, options: BARE_TIME_ZONE_OPTION });
  try {
    if (database.kind !== 'server')
      throw new Error('bench:api needs a PostgreSQL server (DATABASE_URL or 127.0.0.1:5432)');
    owner = await createOrm({ databaseUrl: database.url, poolSize: 2 });
    await migrate(owner);
    await bare.connect();

    const now = new Date();
    const organisation = await seedOrganisation(owner, {
      name: 'Bench Organisation',
      timeZone: TIME_ZONE,
    });
    const [seeded, seedMs] = await time(() => seedRuns(bare, organisation.id, now));
    const { rows: logRuns } = await bare.query<{ id: string }>(
      `select id from sync_run where organisation_id = $1 and status = 'success' order by queued_at desc limit 1`,
      [organisation.id],
    );
    const logRunId = logRuns[0]!.id;
    const [, logMs] = await time(() => seedLog(bare, logRunId, LOG_ROWS));
    const [, vacuumMs] = await time(() => bare.query('vacuum analyze'));
    const runCounts = `${seeded.organisationRunCount.toLocaleString('en')} runs of ${seeded.runCount.toLocaleString('en')} in the organisation`;
    console.log(
      `seeded ${seeded.runCount.toLocaleString('en')} runs in ${seconds(seedMs)}, ${LOG_ROWS.toLocaleString('en')} log entries in ${seconds(logMs)}, vacuum analyze ${seconds(vacuumMs)}`,
    );

    appOrm = await createOrm({ databaseUrl: database.url, role: API_DATABASE_ROLE });
    const context: ListContext = {
      appOrm,
      bare,
      organisationId: organisation.id,
      now,
    };
    if (!loadOnly) console.log('runs.list:');
    const list = loadOnly ? [] : await benchList(context, seeded.configurationIds[FILTERED_CONFIGURATION]!);
    if (!loadOnly) console.log('log export:');
    const exports = loadOnly ? [] : benchExport(database.url, logRunId, organisation.id);
    console.log('load run:');
    const loads = await benchLoad(
      database.url,
      organisation.id,
      organisation.accounts['people-admin'],
      logRunId,
    );

    for (const f of list) {
      if (f.p95 > TARGET_PAGE_P95_MS || showPlans) {
        console.log(`\nPlan of "${f.filter}" page ${f.page} (API role, RLS applying), p95 ${ms(f.p95)}:`);
        console.log(await explain(context, f.query));
      }
    }
    printSummary(list, exports, loads, runCounts);
    console.log(`bench:api took ${seconds(performance.now() - started)}`);
  } finally {
    for (const child of servers) child.kill('SIGTERM');
    await bare.end().catch(() => {});
    await appOrm?.close(true);
    await owner?.close(true);
    await database.drop();
    process.off('SIGINT', dropOnInterrupt);
  }
}

const [mode, ...args] = process.argv.slice(2) as (string | undefined)[];
if (mode === '--export') {
  const [databaseUrl, runId, organisationId, format, path] = args as [
    string,
    string,
    string,
    LogFormat,
    string,
  ];
  await exportInThisProcess(databaseUrl, runId, organisationId, format, path);
  process.exit(0);
} else if (mode === '--bare-export') {
  const [databaseUrl, runId, dir, copies] = args as [string, string, string, string];
  await bareExportInThisProcess(databaseUrl, runId, dir, Number(copies));
  process.exit(0);
} else if (mode === '--serve') {
  await serveInThisProcess(args[0] as string, args[1] === undefined ? undefined : Number(args[1]));
} else if (mode === '--serve-bare') {
  await serveBareInThisProcess(args[0] as string, args[1] as string, args[2] as string);
} else {
  await main();
}
