/**
 * `pnpm bench:web`: the web page's budgets, measured in headless Chromium against the real API and
 * PostgreSQL on this machine.
 *
 *  1. Initial JS of the production build, gzipped (target ≤ 250 KB).
 *  2. Time from navigation until the table shows 50 rows, for an organisation with 10,000 runs, with a
 *     cold browser cache (target ≤ 1 s), beside the `runs.list` call alone (ratio).
 *  3. Time from a run's status change committing in PostgreSQL (a direct UPDATE standing in for the
 *     worker's commit) until the page shows it (target ≤ 1 s), beside a bare server-sent-events client of
 *     the same feed (ratio).
 *
 * Absolute times drift on these shared machines; the ratios say what the page adds to what it waits for.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../src/browser.ts';
import buildWebAppIfStale from '../src/global-setup.ts';
import { REPO_ROOT, WEB_DIST } from '../src/paths.ts';
import { PASSWORD, seedConfiguration, seedOrganisation } from '../src/seed.ts';
import { startStack } from '../src/stack.ts';

const RUNS = 10_000;
const PAGE_LOADS = 7;
const API_CALLS = 21;
const STATUS_CHANGES = 10;
const TARGETS = { initialJsKb: 250, tableMs: 1000, statusChangeMs: 1000 };

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

// ---------- 1. Bundle ----------

function bundleSizes() {
  buildWebAppIfStale();
  const html = readFileSync(join(WEB_DIST, 'index.html'), 'utf8');
  // What the browser fetches before the page can run: the entry script and the chunks it preloads.
  const initial = [
    ...html.matchAll(/<script[^>]+type="module"[^>]+src="([^"]+)"/g),
    ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"/g),
  ].map((match) => match[1]!);
  const css = [...html.matchAll(/<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"/g)].map((match) => match[1]!);
  const size = (file: string) => {
    const bytes = readFileSync(join(WEB_DIST, file));
    return { file, raw: bytes.length, gzip: gzipSync(bytes).length };
  };
  const js = initial.map(size);
  return {
    files: js,
    initialJsGzipKb: round(js.reduce((sum, file) => sum + file.gzip, 0) / 1024),
    initialJsRawKb: round(js.reduce((sum, file) => sum + file.raw, 0) / 1024),
    initialCssGzipKb: round(css.map(size).reduce((sum, file) => sum + file.gzip, 0) / 1024),
  };
}

// ---------- 2 and 3: the page against the real API ----------

const bundle = bundleSizes();
process.stdout.write(`initial JS ${bundle.initialJsGzipKb} KB gzip (${bundle.initialJsRawKb} KB raw)\n`);

const stack = await startStack('bench');
const browser = await launchBrowser();
try {
  const organisation = await seedOrganisation(stack.owner, {
    name: 'Tenk',
    timeZone: 'Europe/London',
    roles: ['people-admin'],
  });
  const configurations = await Promise.all(
    ['HR file', 'Workday workers', 'Google directory'].map((name, index) =>
      seedConfiguration(
        stack.owner,
        organisation.id,
        name,
        (['sftp', 'workday', 'google-workspace'] as const)[index]!,
      ),
    ),
  );
  await stack.owner.em.fork().execute(
    `insert into sync_run (id, organisation_id, configuration_id, status, trigger, queued_at, started_at, finished_at, duration_ms)
     select gen_random_uuid(), ?, (array[?, ?, ?]::uuid[])[1 + n % 3],
       (array['success', 'needs_attention', 'data_load_failed', 'success', 'cancelled'])[1 + n % 5],
       'schedule', now() - make_interval(mins => n * 20), now() - make_interval(mins => n * 20),
       now() - make_interval(mins => n * 20) + interval '5 seconds', 5000
     from generate_series(1, ?) as n`,
    [organisation.id, ...configurations, RUNS],
  );
  await stack.owner.em.fork().execute('analyze sync_run');

  // One sign-in; each measured load then starts from a fresh profile with only the session cookie.
  const signIn = await fetch(`${stack.baseUrl}/trpc/auth.signIn`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: stack.baseUrl },
    body: JSON.stringify({ email: organisation.accounts['people-admin'], password: PASSWORD }),
  });
  if (!signIn.ok) throw new Error(`sign-in failed: ${signIn.status}`);
  const [cookieName, cookieValue] = signIn.headers.get('set-cookie')!.split(';')[0]!.split('=') as [
    string,
    string,
  ];
  const cookie = `${cookieName}=${cookieValue}`;

  // The API call alone: the first page the table asks for.
  const listUrl = `${stack.baseUrl}/trpc/runs.list?input=${encodeURIComponent(
    JSON.stringify({ filter: { range: 'all', sort: 'newest', statuses: [] }, limit: 50 }),
  )}`;
  const apiTimes: number[] = [];
  for (let i = 0; i < API_CALLS; i++) {
    const started = performance.now();
    const response = await fetch(listUrl, { headers: { cookie } });
    const body = (await response.json()) as { result: { data: { runs: unknown[] } } };
    if (body.result.data.runs.length !== 50) throw new Error('the list did not answer 50 runs');
    if (i > 0) apiTimes.push(performance.now() - started);
  }

  const newPage = async (): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addCookies([{ name: cookieName, value: cookieValue, url: stack.baseUrl }]);
    const page = await context.newPage();
    // Stamps the moment the 50th row is in the DOM, relative to the navigation's start.
    await page.addInitScript(() => {
      const observer = new MutationObserver(() => {
        if (document.querySelectorAll('table.runs-table:not(.runs-table-skeleton) tbody tr').length >= 50) {
          (window as unknown as { fiftyRowsAt: number }).fiftyRowsAt = performance.now();
          observer.disconnect();
        }
      });
      observer.observe(document, { childList: true, subtree: true });
    });
    return page;
  };

  const pageTimes: number[] = [];
  for (let i = 0; i <= PAGE_LOADS; i++) {
    const page = await newPage();
    await page.goto(`${stack.baseUrl}/provisioning`);
    await page.waitForFunction(
      () => (window as unknown as { fiftyRowsAt?: number }).fiftyRowsAt !== undefined,
    );
    const at = await page.evaluate(() => (window as unknown as { fiftyRowsAt: number }).fiftyRowsAt);
    // The first load warms the server (JIT, connection pool); it is not counted.
    if (i > 0) pageTimes.push(at);
    await page.context().close();
  }

  // 3. Status changes: the page, and a bare SSE client beside it, both watching the same feed.
  const page = await newPage();
  await page.goto(`${stack.baseUrl}/provisioning`);
  await page.locator('.live[data-state="live"]').waitFor();
  const [newest] = await stack.owner.em
    .fork()
    .execute<{ id: string }[]>(
      `select id from sync_run where organisation_id = ? order by queued_at desc, id desc limit 1`,
      [organisation.id],
    );
  const runId = newest!.id;
  // A known starting status, so that each change below is a change.
  await stack.owner.em.fork().execute(`update sync_run set status = 'success' where id = ?`, [runId]);
  await page.locator(`tbody tr[data-run-id="${runId}"][data-status="success"]`).waitFor();

  const sseAbort = new AbortController();
  const sse = await fetch(`${stack.baseUrl}/trpc/runs.changes?input=%7B%7D`, {
    headers: { cookie, accept: 'text/event-stream' },
    signal: sseAbort.signal,
  });
  const sseSeen = new Map<string, number>();
  const sseWaiters = new Map<string, () => void>();
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = sse.body!.getReader();
    try {
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        const chunk = read.value;
        const arrivedAt = Date.now();
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const status = /"id":"([^"]+)","status":"([a-z_]+)"/.exec(event);
          if (status && status[1] === runId) {
            sseSeen.set(status[2]!, arrivedAt);
            sseWaiters.get(status[2]!)?.();
          }
          end = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // Aborted at the end.
    }
  })();

  const pageTimesMs: number[] = [];
  const sseTimesMs: number[] = [];
  const statuses = ['needs_attention', 'success'] as const;
  for (let i = 0; i < STATUS_CHANGES; i++) {
    const status = statuses[i % 2]!;
    sseSeen.delete(status);
    const sseArrived = new Promise<void>((resolve) => sseWaiters.set(status, resolve));
    // The page stamps the moment the row shows the new status.
    await page.evaluate(
      ([id, wanted]) => {
        const target = window as unknown as { statusShownAt?: number };
        target.statusShownAt = undefined;
        const observer = new MutationObserver(() => {
          if (
            document.querySelector(`tbody tr[data-run-id="${id}"]`)?.getAttribute('data-status') === wanted
          ) {
            target.statusShownAt = Date.now();
            observer.disconnect();
          }
        });
        observer.observe(document.querySelector('tbody')!, {
          subtree: true,
          childList: true,
          attributes: true,
        });
      },
      [runId, status] as const,
    );
    const committedBefore = Date.now();
    await stack.owner.em.fork().execute(`update sync_run set status = ? where id = ?`, [status, runId]);
    await page.waitForFunction(
      () => (window as unknown as { statusShownAt?: number }).statusShownAt !== undefined,
    );
    await sseArrived;
    const shownAt = await page.evaluate(() => (window as unknown as { statusShownAt: number }).statusShownAt);
    pageTimesMs.push(shownAt - committedBefore);
    sseTimesMs.push(sseSeen.get(status)! - committedBefore);
  }
  sseAbort.abort();
  await page.context().close();

  const results = {
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    bundle,
    table: {
      runsInOrganisation: RUNS,
      pageLoads: PAGE_LOADS,
      medianMs: round(median(pageTimes)),
      maxMs: round(Math.max(...pageTimes)),
      apiCallMedianMs: round(median(apiTimes)),
      ratio: round(median(pageTimes) / median(apiTimes)),
    },
    statusChange: {
      changes: STATUS_CHANGES,
      medianMs: round(median(pageTimesMs)),
      maxMs: round(Math.max(...pageTimesMs)),
      bareSseMedianMs: round(median(sseTimesMs)),
      ratio: round(median(pageTimesMs) / Math.max(1, median(sseTimesMs))),
    },
  };
  const verdict = (value: number, target: number) => (value <= target ? 'ok' : 'MISSED');
  const lines = [
    '',
    'web page benchmark (headless Chromium, real API + PostgreSQL)',
    `  initial JS (gzip)              ${results.bundle.initialJsGzipKb} KB   target ≤ ${TARGETS.initialJsKb} KB  ${verdict(results.bundle.initialJsGzipKb, TARGETS.initialJsKb)}`,
    `  table shows 50 of ${RUNS} runs   median ${results.table.medianMs} ms, max ${results.table.maxMs} ms (cold cache)   target ≤ ${TARGETS.tableMs} ms  ${verdict(results.table.maxMs, TARGETS.tableMs)}`,
    `    runs.list alone              median ${results.table.apiCallMedianMs} ms   ratio page/API ${results.table.ratio}×`,
    `  status change visible          median ${results.statusChange.medianMs} ms, max ${results.statusChange.maxMs} ms   target ≤ ${TARGETS.statusChangeMs} ms  ${verdict(results.statusChange.maxMs, TARGETS.statusChangeMs)}`,
    `    bare SSE client              median ${results.statusChange.bareSseMedianMs} ms   ratio page/SSE ${results.statusChange.ratio}×`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
  const outDir = join(REPO_ROOT, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'web.json'), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`results written to bench-results/web.json\n`);
  if (
    results.bundle.initialJsGzipKb > TARGETS.initialJsKb ||
    results.table.maxMs > TARGETS.tableMs ||
    results.statusChange.maxMs > TARGETS.statusChangeMs
  ) {
    process.exitCode = 1;
  }
} finally {
  await browser.close();
  await stack.close();
}
