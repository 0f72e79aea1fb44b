import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConfiguration, type ThresholdDetails, triggerRun } from '@provisioning/db';
import { RUN_STATUS_INFO, type RunStatus } from '@provisioning/shared';
import { type SftpServer, startSftpServer, writeHrCsv } from '@provisioning/testkit';
import ExcelJS from 'exceljs';
import type { Browser, Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type Session, screenshot, signedIn } from './browser.ts';
import { ARTIFACTS_DIR } from './paths.ts';
import { PASSWORD, seedConfiguration, seedLog, seedOrganisation, seedRun } from './seed.ts';
import { type Stack, startStack } from './stack.ts';
import { startTcpGate, type TcpGate } from './tcp-gate.ts';

const TIME_ZONE = 'Europe/London';
const DAY_MS = 86_400_000;

let stack: Stack;
let browser: Browser;
let acmeAdmin: string;
let bigcoAdmin: string;
let sftp: SftpServer;
let sftpRoot: string;
let gate: TcpGate;
let hrFileConfiguration: string;
let workdayConfiguration: string;
const sessions: Session[] = [];

/** The seeded runs of Acme, newest first; `daysAgo` keeps them clear of the date presets' edges. */
const RUNS = {
  success: { daysAgo: 1, status: 'success', configuration: 'google' },
  attention: { daysAgo: 3, status: 'needs_attention', configuration: 'workday' },
  failed: { daysAgo: 12, status: 'data_load_failed', configuration: 'workday' },
  threshold: { daysAgo: 20, status: 'above_deactivation_threshold', configuration: 'google' },
  oldSuccess: { daysAgo: 45, status: 'success', configuration: 'workday' },
  cancelled: { daysAgo: 90, status: 'cancelled', configuration: 'google' },
} as const satisfies Record<
  string,
  { daysAgo: number; status: RunStatus; configuration: 'google' | 'workday' }
>;
type RunName = keyof typeof RUNS;
const runIds = {} as Record<RunName, string>;
const startedAt = {} as Record<RunName, Date>;
const now = Date.now();

beforeAll(async () => {
  stack = await startStack('page');
  const acme = await seedOrganisation(stack.owner, {
    name: 'Acme Corp',
    timeZone: TIME_ZONE,
    roles: ['people-admin'],
  });
  acmeAdmin = acme.accounts['people-admin']!;
  const google = await seedConfiguration(stack.owner, acme.id, 'Google directory', 'google-workspace');
  workdayConfiguration = await seedConfiguration(stack.owner, acme.id, 'Workday workers', 'workday');
  const configurations = { google, workday: workdayConfiguration };
  for (const [name, run] of Object.entries(RUNS) as [RunName, (typeof RUNS)[RunName]][]) {
    startedAt[name] = new Date(now - run.daysAgo * DAY_MS);
    runIds[name] = await seedRun(stack.owner, {
      organisationId: acme.id,
      configurationId: configurations[run.configuration],
      status: run.status,
      startedAt: startedAt[name],
      counts: name === 'success' ? { created: 2, unchanged: 1 } : {},
      errorSummary:
        name === 'failed'
          ? 'The Workday report answered 401 Unauthorized: check the integration user’s password.'
          : undefined,
      thresholdDetails:
        name === 'threshold'
          ? ({
              plannedDeactivations: 250,
              activeManagedUsers: 1000,
              thresholdCount: 500,
              thresholdPercent: 20,
              sample: [],
            } satisfies ThresholdDetails)
          : undefined,
    });
  }
  await seedLog(stack.owner, runIds.success, [
    {
      rowNumber: 2,
      externalId: 'E001',
      email: 'ada@acme.example',
      name: 'Ada Lovelace',
      action: 'create',
      outcome: 'applied',
    },
    {
      rowNumber: 3,
      externalId: 'E002',
      email: 'alan@acme.example',
      name: 'Alan Turing',
      action: 'create',
      outcome: 'applied',
    },
    {
      rowNumber: 4,
      externalId: 'E003',
      email: 'grace@acme.example',
      name: 'Grace Hopper',
      action: 'unchanged',
      outcome: 'no_change',
    },
  ]);
  await seedLog(stack.owner, runIds.failed, [
    {
      rowNumber: null,
      action: 'error',
      outcome: 'failed',
      message: 'The report answered 401 Unauthorized',
      hint: 'Check the password',
    },
  ]);

  // A real SFTP source for the live run, reached through a gate that holds the worker's connection.
  sftpRoot = mkdtempSync(join(tmpdir(), 'e2e-sftp-'));
  mkdirSync(join(sftpRoot, 'outbound'));
  await writeHrCsv(join(sftpRoot, 'outbound', 'employees.csv'), { rows: 200 });
  sftp = await startSftpServer({ root: sftpRoot, username: 'acme', password: 'sftp-password' });
  gate = await startTcpGate(sftp);
  hrFileConfiguration = (
    await createConfiguration(
      stack.owner.em.fork(),
      acme.id,
      {
        name: 'HR file',
        connector: 'sftp',
        settings: {
          host: gate.host,
          port: gate.port,
          username: 'acme',
          password: 'sftp-password',
          hostFingerprint: sftp.hostFingerprint,
          path: '/outbound/employees.csv',
        },
      },
      stack.secretKey,
    )
  ).id;

  // An organisation with more syncs than one page.
  const bigco = await seedOrganisation(stack.owner, { name: 'Bigco', roles: ['org-admin'] });
  bigcoAdmin = bigco.accounts['org-admin']!;
  const bigcoConfiguration = await seedConfiguration(stack.owner, bigco.id, 'Nightly export', 'sftp');
  await stack.owner.em.fork().execute(
    `insert into sync_run (id, organisation_id, configuration_id, status, trigger, queued_at, started_at, finished_at, duration_ms)
     select gen_random_uuid(), ?, ?, 'success', 'schedule', now() - make_interval(hours => n), now() - make_interval(hours => n),
       now() - make_interval(hours => n) + interval '3 seconds', 3000
     from generate_series(1, 60) as n`,
    [bigco.id, bigcoConfiguration],
  );

  browser = await launchBrowser();
});

afterAll(async () => {
  for (const session of sessions) await session.context.close().catch(() => {});
  await browser?.close();
  await gate?.close();
  await sftp?.stop();
  if (sftpRoot) rmSync(sftpRoot, { recursive: true, force: true });
  await stack?.close();
});

async function open(email: string, path = '/provisioning'): Promise<Page> {
  const session = await signedIn(browser, stack.baseUrl, email, PASSWORD, path);
  sessions.push(session);
  return session.page;
}

/** Waits until the table shows exactly these runs, in this order, and is not waiting for newer rows. */
async function expectRows(page: Page, names: RunName[]) {
  const expected = names.map((name) => runIds[name]);
  await page.waitForFunction(
    (ids) => {
      const table = document.querySelector('table.runs-table:not(.runs-table-skeleton)');
      if (!table || table.getAttribute('aria-busy') === 'true') return false;
      const shown = [...table.querySelectorAll('tbody tr')].map((row) => (row as HTMLElement).dataset.runId);
      return JSON.stringify(shown) === JSON.stringify(ids);
    },
    expected,
    { timeout: 15_000 },
  );
}

const pillLabels = (page: Page) =>
  page
    .getByRole('region', { name: 'Active filters' })
    .getByRole('button', { name: /^Remove filter:/ })
    .evaluateAll((buttons) => buttons.map((button) => button.getAttribute('aria-label')));

const rowOf = (page: Page, runId: string) => page.locator(`tbody tr[data-run-id="${runId}"]`);

/** `Sync Logs - 15 Jan 2024 10.30pm.csv`: the run's start on the organisation's wall clock, as specified. */
function expectedLogName(instant: Date, extension: 'csv' | 'xlsx'): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: TIME_ZONE,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(instant)
      .map((part) => [part.type, part.value]),
  );
  const hour = Number(parts.hour) % 24;
  const time = `${hour % 12 === 0 ? 12 : hour % 12}.${parts.minute}${hour < 12 ? 'am' : 'pm'}`;
  return `Sync Logs - ${Number(parts.day)} ${months[Number(parts.month) - 1]} ${parts.year} ${time}.${extension}`;
}

/** The calendar day `daysAgo` days back in the browser's (local) calendar: what the date picker shows. */
function localDay(daysAgo: number): string {
  const date = new Date(now - daysAgo * DAY_MS);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

async function download(
  page: Page,
  rowRunId: string,
  item: 'CSV' | 'Excel (XLSX)',
): Promise<{ download: Download; path: string }> {
  await rowOf(page, rowRunId)
    .getByRole('button', { name: /^Download/ })
    .click();
  const [saved] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('menuitem', { name: item }).click(),
  ]);
  const path = join(ARTIFACTS_DIR, 'downloads', saved.suggestedFilename());
  mkdirSync(join(ARTIFACTS_DIR, 'downloads'), { recursive: true });
  await saved.saveAs(path);
  return { download: saved, path };
}

describe('User Provisioning in Chromium against the real API, worker and PostgreSQL', () => {
  it('shows a People Admin the organisation’s runs, newest first, in its time zone', async () => {
    const page = await open(acmeAdmin);
    await expectRows(page, ['success', 'attention', 'failed', 'threshold', 'oldSuccess', 'cancelled']);
    const nav = page.getByRole('navigation', { name: 'Admin panel' });
    await expect(
      nav.getByRole('link', { name: 'User Provisioning' }).getAttribute('aria-current'),
    ).resolves.toBe('page');
    expect(await nav.getByRole('heading', { name: 'Blink Identity' }).count()).toBe(1);
    await expect(page.getByText('Acme Corp', { exact: true }).count()).resolves.toBe(1);

    const first = rowOf(page, runIds.success);
    const time = new Intl.DateTimeFormat('en-GB', {
      timeZone: TIME_ZONE,
      hour: 'numeric',
      minute: '2-digit',
      hourCycle: 'h12',
    }).format(startedAt.success);
    const date = new Intl.DateTimeFormat('en-GB', {
      timeZone: TIME_ZONE,
      day: 'numeric',
      month: 'short',
      year: 'numeric',
    }).format(startedAt.success);
    const cells = await first.locator('td').allInnerTexts();
    expect(cells.slice(0, 6)).toEqual([
      `${time}\n${date}`,
      'Google Workspace',
      'Google directory',
      'Success',
      '4s',
      'Download',
    ]);
    expect(cells[6]).toMatch(/^Details/);
    // Readable at 1280px: every column in view, no sideways scrolling.
    const [scrollWidth, clientWidth] = await page
      .locator('.table-scroll')
      .evaluate((element) => [element.scrollWidth, element.clientWidth]);
    expect(scrollWidth).toBeLessThanOrEqual(clientWidth!);
    // Runs without a log offer no download.
    expect(
      await rowOf(page, runIds.threshold)
        .getByRole('button', { name: /^Download/ })
        .count(),
    ).toBe(0);
    expect(await rowOf(page, runIds.threshold).getByText('No log').count()).toBe(1);

    // A badge explains its status on keyboard focus (and on hover).
    await rowOf(page, runIds.failed).getByRole('button', { name: 'Data Load Failed' }).focus();
    const tooltip = page.getByRole('tooltip');
    await tooltip.waitFor();
    expect(await tooltip.textContent()).toBe(
      `${RUN_STATUS_INFO.data_load_failed.meaning} ${RUN_STATUS_INFO.data_load_failed.action}`,
    );
    await screenshot(page, '01-runs-with-status-tooltip');
    await page.keyboard.press('Escape');
    await rowOf(page, runIds.attention).getByRole('button', { name: 'Needs Attention' }).hover();
    await page.getByRole('tooltip', { name: /Download the log and review the warnings/ }).waitFor();
  });

  it('filters by each control, shows each filter as a removable pill, keeps them in the URL, and clears them', async () => {
    const page = await open(acmeAdmin);
    await expectRows(page, ['success', 'attention', 'failed', 'threshold', 'oldSuccess', 'cancelled']);

    await page.getByLabel('Date range', { exact: true }).selectOption('last7');
    await expectRows(page, ['success', 'attention']);
    expect(await pillLabels(page)).toEqual(['Remove filter: Last 7 Days']);
    expect(new URL(page.url()).search).toBe('?range=last7');

    await page.getByLabel('Date range', { exact: true }).selectOption('last30');
    await expectRows(page, ['success', 'attention', 'failed', 'threshold']);
    expect(await pillLabels(page)).toEqual(['Remove filter: Last 30 Days']);

    // Custom: a range picked on the calendar, 14 to 10 days ago, holds the failed run only.
    await page.getByLabel('Date range', { exact: true }).selectOption('custom');
    const calendar = page.getByRole('dialog', { name: 'Custom date range' });
    await calendar.locator(`[data-day="${localDay(14)}"] button`).click();
    await calendar.locator(`[data-day="${localDay(10)}"] button`).click();
    await screenshot(page, '02-custom-date-range');
    await calendar.getByRole('button', { name: 'Apply' }).click();
    await expectRows(page, ['failed']);
    const [pill] = await pillLabels(page);
    expect(pill).toMatch(/^Remove filter: \d{1,2} \w{3,4} \d{4} – \d{1,2} \w{3,4} \d{4}$/);
    expect(new URL(page.url()).search).toBe(`?range=custom&from=${localDay(14)}&to=${localDay(10)}`);
    await page.getByRole('button', { name: pill! }).click();
    await expectRows(page, ['success', 'attention', 'failed', 'threshold', 'oldSuccess', 'cancelled']);
    expect(await pillLabels(page)).toEqual([]);

    await page.getByLabel('Sort', { exact: true }).selectOption('oldest');
    await expectRows(page, ['cancelled', 'oldSuccess', 'threshold', 'failed', 'attention', 'success']);
    await page.getByLabel('Configuration', { exact: true }).selectOption({ label: 'Workday workers' });
    await expectRows(page, ['oldSuccess', 'failed', 'attention']);
    await page.getByRole('button', { name: /^Status/ }).click();
    await page.getByRole('checkbox', { name: 'Success' }).check();
    await page.getByRole('checkbox', { name: 'Data Load Failed' }).check();
    await page.keyboard.press('Escape');
    await expectRows(page, ['oldSuccess', 'failed']);
    const allPills = [
      'Remove filter: Oldest first',
      'Remove filter: Configuration: Workday workers',
      'Remove filter: Status: Success',
      'Remove filter: Status: Data Load Failed',
    ];
    expect(await pillLabels(page)).toEqual(allPills);
    expect(new URL(page.url()).search).toBe(
      `?sort=oldest&configuration=${workdayConfiguration}&status=success&status=data_load_failed`,
    );

    // A reload (or a bookmark of the URL) shows the same view.
    await page.reload();
    await expectRows(page, ['oldSuccess', 'failed']);
    expect(await pillLabels(page)).toEqual(allPills);
    await expect(page.getByLabel('Configuration', { exact: true }).inputValue()).resolves.toBe(
      workdayConfiguration,
    );
    await screenshot(page, '03-filtered-with-pills');

    await page.getByRole('button', { name: 'Remove filter: Status: Success' }).click();
    await expectRows(page, ['failed']);
    // Focus stays among the pills, on the one that took the removed one's place.
    await expect(page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).resolves.toBe(
      'Remove filter: Status: Data Load Failed',
    );

    await page.getByRole('button', { name: 'Clear filters' }).click();
    await expectRows(page, ['success', 'attention', 'failed', 'threshold', 'oldSuccess', 'cancelled']);
    expect(await pillLabels(page)).toEqual([]);
    expect(new URL(page.url()).search).toBe('');

    // Back undoes the last filter change.
    await page.goBack();
    await expectRows(page, ['failed']);
  });

  it('says when no runs match the filters and clears them from there', async () => {
    const page = await open(
      acmeAdmin,
      `/provisioning?configuration=${workdayConfiguration}&status=cancelled`,
    );
    const empty = page.getByRole('heading', { name: 'No syncs match these filters' });
    await empty.waitFor();
    await screenshot(page, '04-no-results-for-filters');
    await page.locator('.empty-state').getByRole('button', { name: 'Clear filters' }).click();
    await expectRows(page, ['success', 'attention', 'failed', 'threshold', 'oldSuccess', 'cancelled']);
  });

  it('filters by source: each source alone, several, with a status, in the URL and pills, and none matching', async () => {
    const page = await open(acmeAdmin);
    await expectRows(page, ['success', 'attention', 'failed', 'threshold', 'oldSuccess', 'cancelled']);
    // The page says what it lists, and where manual uploads are instead.
    expect(await page.locator('.page-header').innerText()).toContain(
      'This page lists automated syncs only. Manual bulk uploads are on the Bulk Update page in the Users section.',
    );

    const sourceButton = page.getByRole('button', { name: /^Source/ });
    expect(await sourceButton.innerText()).toBe('Any source');
    await sourceButton.click();
    await page.getByRole('checkbox', { name: 'Workday' }).check();
    await expectRows(page, ['attention', 'failed', 'oldSuccess']);
    expect(await pillLabels(page)).toEqual(['Remove filter: Source: Workday']);
    expect(new URL(page.url()).search).toBe('?source=workday');
    // Only the chosen source's configurations are offered.
    await expect(
      page.getByLabel('Configuration', { exact: true }).locator('option').allInnerTexts(),
    ).resolves.toEqual(['All configurations', 'Workday workers']);

    await page.getByRole('checkbox', { name: 'Google Workspace' }).check();
    await expectRows(page, ['success', 'attention', 'failed', 'threshold', 'oldSuccess', 'cancelled']);
    await page.getByRole('checkbox', { name: 'Workday' }).uncheck();
    await expectRows(page, ['success', 'threshold', 'cancelled']);
    await page.keyboard.press('Escape');
    expect(await sourceButton.innerText()).toBe('Google Workspace');

    await page.getByRole('button', { name: /^Status/ }).click();
    await page.getByRole('checkbox', { name: 'Success' }).check();
    await page.getByRole('checkbox', { name: 'Cancelled' }).check();
    await page.keyboard.press('Escape');
    await expectRows(page, ['success', 'cancelled']);
    const pills = [
      'Remove filter: Source: Google Workspace',
      'Remove filter: Status: Success',
      'Remove filter: Status: Cancelled',
    ];
    expect(await pillLabels(page)).toEqual(pills);
    expect(new URL(page.url()).search).toBe('?status=success&status=cancelled&source=google-workspace');
    await page.reload();
    await expectRows(page, ['success', 'cancelled']);
    expect(await pillLabels(page)).toEqual(pills);
    await screenshot(page, '04b-filtered-by-source');

    await page.getByRole('button', { name: 'Remove filter: Source: Google Workspace' }).click();
    await expectRows(page, ['success', 'oldSuccess', 'cancelled']);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await expectRows(page, ['success', 'attention', 'failed', 'threshold', 'oldSuccess', 'cancelled']);
    expect(new URL(page.url()).search).toBe('');

    // A source with no runs (the SFTP file has not run yet): the empty state, and its Clear filters.
    await page.goto('/provisioning?source=sftp');
    await page.getByRole('heading', { name: 'No syncs match these filters' }).waitFor();
    expect(await pillLabels(page)).toEqual(['Remove filter: Source: SFTP Sync']);
    await page.locator('.empty-state').getByRole('button', { name: 'Clear filters' }).click();
    await expectRows(page, ['success', 'attention', 'failed', 'threshold', 'oldSuccess', 'cancelled']);

    // A source the page does not know is left out, and said so.
    await page.goto('/provisioning?source=bamboohr&source=workday');
    await expectRows(page, ['attention', 'failed', 'oldSuccess']);
    const notice = page.getByRole('status').filter({ hasText: 'Some filters in the link could not be used' });
    await notice.waitFor();
    expect(await notice.textContent()).toContain(
      'Source “bamboohr” ignored: the choices are SFTP Sync, Workday and Google Workspace.',
    );
    expect(new URL(page.url()).search).toBe('?source=workday');
  });

  it('falls back from filters in the URL that it cannot use, and says so', async () => {
    const page = await open(acmeAdmin, '/provisioning?range=last7&status=exploded&sort=sideways');
    await expectRows(page, ['success', 'attention']);
    const notice = page.getByRole('status').filter({ hasText: 'Some filters in the link could not be used' });
    await notice.waitFor();
    expect(await notice.textContent()).toContain('Status “exploded” ignored');
    expect(await notice.textContent()).toContain('Sort order “sideways” ignored');
    expect(new URL(page.url()).search).toBe('?range=last7');
    await screenshot(page, '05-invalid-url-notice');
  });

  it('downloads the log as CSV and as Excel under the server’s names, with the run’s rows', async () => {
    const page = await open(acmeAdmin);
    await expectRows(page, ['success', 'attention', 'failed', 'threshold', 'oldSuccess', 'cancelled']);

    const csv = await download(page, runIds.success, 'CSV');
    expect(csv.download.suggestedFilename()).toBe(expectedLogName(startedAt.success, 'csv'));
    const lines = readFileSync(csv.path, 'utf8')
      .replace(/^\uFEFF/, '')
      .trim()
      .split(/\r?\n/);
    expect(lines[0]).toBe('Row,External ID,Email,Name,Action,Outcome,Changes,Message');
    expect(lines.slice(1).map((line) => line.split(',').slice(0, 6).join(','))).toEqual([
      '2,E001,ada@acme.example,Ada Lovelace,Created,Applied',
      '3,E002,alan@acme.example,Alan Turing,Created,Applied',
      '4,E003,grace@acme.example,Grace Hopper,Unchanged,No change',
    ]);

    const xlsx = await download(page, runIds.success, 'Excel (XLSX)');
    expect(xlsx.download.suggestedFilename()).toBe(expectedLogName(startedAt.success, 'xlsx'));
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(xlsx.path);
    const sheet = workbook.worksheets[0]!;
    const values = (row: number) => (sheet.getRow(row).values as unknown[]).slice(1, 7);
    expect(values(1)).toEqual(['Row', 'External ID', 'Email', 'Name', 'Action', 'Outcome']);
    expect(values(2)).toEqual([2, 'E001', 'ada@acme.example', 'Ada Lovelace', 'Created', 'Applied']);
    expect(sheet.actualRowCount).toBe(4);

    // A failed load offers its error log; the menu works from the keyboard too.
    await rowOf(page, runIds.failed)
      .getByRole('button', { name: /^Download error log/ })
      .focus();
    await page.keyboard.press('Enter');
    await page.getByRole('menuitem', { name: 'CSV' }).waitFor();
    const [errorLog] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    expect(errorLog.suggestedFilename()).toBe(expectedLogName(startedAt.failed, 'csv'));
    const errorLogPath = join(ARTIFACTS_DIR, 'downloads', errorLog.suggestedFilename());
    await errorLog.saveAs(errorLogPath);
    expect(readFileSync(errorLogPath, 'utf8')).toContain('The report answered 401 Unauthorized');
  });

  it('opens a run’s details: counts, the error summary of a failed load, deactivations against the threshold', async () => {
    const page = await open(acmeAdmin);
    await expectRows(page, ['success', 'attention', 'failed', 'threshold', 'oldSuccess', 'cancelled']);

    await rowOf(page, runIds.success)
      .getByRole('link', { name: /^Details/ })
      .click();
    let drawer = page.getByRole('dialog', { name: 'Sync details' });
    await drawer.locator('[data-count="created"]').waitFor();
    expect(await drawer.locator('[data-count="created"]').innerText()).toBe('Created\t2');
    expect(await drawer.locator('[data-count="unchanged"]').innerText()).toBe('Unchanged\t1');
    expect(await drawer.getByRole('link', { name: 'Download sync log (CSV)' }).getAttribute('href')).toBe(
      `/api/runs/${runIds.success}/log.csv`,
    );
    expect(new URL(page.url()).searchParams.get('run')).toBe(runIds.success);
    await page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'detached' });
    expect(new URL(page.url()).searchParams.get('run')).toBeNull();

    await page.goto(`/provisioning?run=${runIds.failed}`);
    drawer = page.getByRole('dialog', { name: 'Sync details' });
    await drawer.getByRole('heading', { name: 'What went wrong' }).waitFor();
    expect(await drawer.innerText()).toContain('The Workday report answered 401 Unauthorized');
    await screenshot(page, '06-details-data-load-failed');

    await page.goto(`/provisioning?run=${runIds.threshold}`);
    drawer = page.getByRole('dialog', { name: 'Sync details' });
    await drawer.getByRole('heading', { name: 'Planned deactivations against the threshold' }).waitFor();
    expect(await drawer.getByTestId('planned-deactivations').innerText()).toBe(
      '250 of 1,000 active managed users (25%)',
    );
    expect(await drawer.innerText()).toContain('At most 500 users and at most 20% (200 users)');
    expect(await drawer.getByText('This sync has no log to download.').count()).toBe(1);
    await screenshot(page, '07-details-above-threshold');
  });

  it('stays usable on a phone-sized screen: no sideways page, the table scrolls in its own box', async () => {
    const page = await open(acmeAdmin);
    await page.setViewportSize({ width: 390, height: 844 });
    await expectRows(page, ['success', 'attention', 'failed', 'threshold', 'oldSuccess', 'cancelled']);
    const widths = await page.evaluate(() => {
      const box = document.querySelector('.table-scroll') as HTMLElement;
      return {
        page: document.documentElement.scrollWidth,
        viewport: window.innerWidth,
        box: box.clientWidth,
        table: box.scrollWidth,
      };
    });
    expect(widths.page).toBeLessThanOrEqual(widths.viewport);
    expect(widths.box).toBeLessThanOrEqual(widths.viewport);
    expect(widths.table).toBeGreaterThan(widths.box);
    await expect.poll(() => page.getByRole('link', { name: 'User Provisioning' }).isVisible()).toBe(true);

    // Every control still works: a filter and its pill, the last column's download menu.
    await page.getByLabel('Date range', { exact: true }).selectOption('last7');
    await expectRows(page, ['success', 'attention']);
    expect(await pillLabels(page)).toEqual(['Remove filter: Last 7 Days']);
    await screenshot(page, '14-narrow-screen');
    await rowOf(page, runIds.success)
      .getByRole('button', { name: /^Download/ })
      .click();
    await expect.poll(() => page.getByRole('menuitem', { name: 'CSV' }).isVisible()).toBe(true);
    await page.keyboard.press('Escape');
  });

  it('shows skeletons while loading and a retry when the API fails', async () => {
    const session = await signedIn(browser, stack.baseUrl, acmeAdmin, PASSWORD, '/');
    sessions.push(session);
    const { page } = session;
    // Hold the list request: the skeleton must be on screen meanwhile.
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route(/\/trpc\/[^?]*runs\.list/, async (route) => {
      await held;
      await route.continue();
    });
    await page.goto('/provisioning');
    await page.locator('.runs-table-skeleton').waitFor();
    await page.getByRole('status').filter({ hasText: 'Loading syncs…' }).waitFor({ state: 'attached' });
    await screenshot(page, '08-loading-skeleton');
    release();
    await expectRows(page, ['success', 'attention', 'failed', 'threshold', 'oldSuccess', 'cancelled']);

    // The API unreachable: an error with a retry that works once it is back.
    await page.unroute(/\/trpc\/[^?]*runs\.list/);
    await page.route(/\/trpc\/[^?]*runs\.list/, (route) => route.abort('connectionrefused'));
    await page.getByLabel('Sort', { exact: true }).selectOption('oldest');
    const failure = page.getByRole('alert').filter({ hasText: 'The syncs could not be loaded' });
    await failure.waitFor({ timeout: 20_000 });
    await screenshot(page, '09-api-error-with-retry');
    await page.unroute(/\/trpc\/[^?]*runs\.list/);
    await failure.getByRole('button', { name: 'Try again' }).click();
    await expectRows(page, ['cancelled', 'oldSuccess', 'threshold', 'failed', 'attention', 'success']);
  });

  it('loads a long history a page at a time', async () => {
    const page = await open(bigcoAdmin);
    await page.waitForFunction(
      () => document.querySelectorAll('table.runs-table:not(.runs-table-skeleton) tbody tr').length === 50,
    );
    await page.getByText('Showing the first 50 syncs').waitFor();
    await page.getByRole('button', { name: 'Load more' }).click();
    await page.waitForFunction(() => document.querySelectorAll('table.runs-table tbody tr').length === 60);
    await page.getByText('60 syncs', { exact: true }).waitFor();
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);
  });

  it('shows the live feed reconnecting when the API goes away, and catches up on what changed meanwhile', async () => {
    const page = await open(acmeAdmin);
    await expectRows(page, ['success', 'attention', 'failed', 'threshold', 'oldSuccess', 'cancelled']);
    const live = page.locator('.live');
    await live.locator('[role="status"]', { hasText: 'Live' }).waitFor();

    const api = await stack.stopApi();
    await live.locator('[role="status"]', { hasText: 'Reconnecting…' }).waitFor();
    await screenshot(page, '10-live-reconnecting');
    // A change while the page is cut off: it must arrive once the feed is back.
    await stack.owner.em
      .fork()
      .execute(`update sync_run set status = 'cancelled' where id = ?`, [runIds.oldSuccess]);
    await api.start();
    await live.locator('[role="status"]', { hasText: 'Live' }).waitFor({ timeout: 30_000 });
    await page.locator(`tbody tr[data-run-id="${runIds.oldSuccess}"][data-status="cancelled"]`).waitFor();
    await stack.owner.em
      .fork()
      .execute(`update sync_run set status = 'success' where id = ?`, [runIds.oldSuccess]);
    await page.locator(`tbody tr[data-run-id="${runIds.oldSuccess}"][data-status="success"]`).waitFor();
  });

  it('shows a run go Queued → In Progress → Success live, without a reload', async () => {
    const page = await open(acmeAdmin);
    await expectRows(page, ['success', 'attention', 'failed', 'threshold', 'oldSuccess', 'cancelled']);
    await page.locator('.live[data-state="live"]').getByText('Live').waitFor();
    await page.evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });

    // Queued: no worker runs yet.
    const { runId } = await triggerRun(stack.owner, stack.boss, hrFileConfiguration, 'manual');
    const row = rowOf(page, runId);
    await page.locator(`tbody tr[data-run-id="${runId}"][data-status="queued"]`).waitFor();
    expect(await page.locator('tbody tr').first().getAttribute('data-run-id')).toBe(runId);
    expect(await row.getByRole('button', { name: 'Queued' }).count()).toBe(1);
    await screenshot(page, '11-live-queued');

    // In Progress: the worker claims the run; the gate holds its SFTP connection.
    await stack.startWorker();
    await page.locator(`tbody tr[data-run-id="${runId}"][data-status="in_progress"]`).waitFor();
    await row.getByRole('button', { name: 'In Progress' }).waitFor();
    await gate.connected();
    // The duration ticks while it runs.
    const elapsed = row.locator('.duration-elapsed');
    const firstReading = await elapsed.innerText();
    await page.waitForFunction(
      ([id, before]) =>
        document.querySelector(`tr[data-run-id="${id}"] .duration-elapsed`)?.textContent !== before,
      [runId, firstReading] as const,
    );
    await screenshot(page, '12-live-in-progress');

    // Success once the source answers.
    gate.open();
    await page
      .locator(`tbody tr[data-run-id="${runId}"][data-status="success"]`)
      .waitFor({ timeout: 30_000 });
    await row.getByRole('button', { name: 'Success' }).waitFor();
    await row.getByRole('button', { name: /^Download/ }).waitFor();
    await expect(
      page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded),
    ).resolves.toBe(true);
    await screenshot(page, '13-live-success');

    // Its log is the real one: a row per source row.
    const csv = await download(page, runId, 'CSV');
    expect(readFileSync(csv.path, 'utf8').trim().split(/\r?\n/)).toHaveLength(201);
  });
});
