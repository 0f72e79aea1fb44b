import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatSoakReport, groupUnappliedRuns, runSoak, type SoakReport } from '../soak/soak-run.ts';

describe('the soak, 2-minute variant (pnpm soak runs the long one)', () => {
  it(
    'keeps two workers syncing 2 × 5k users through churn and 2 SIGKILLs, and every correctness check holds after the drain',
    async () => {
      const lines: string[] = [];
      const report = await runSoak({
        organisations: 2,
        users: 5_000,
        minutes: 2,
        killEverySeconds: [30, 50],
        maxKills: 2,
        churn: 0.05,
        staleAfterSeconds: 15,
        seed: 7,
        log: (line) => lines.push(line),
      });
      const printed = `${lines.join('\n')}\n${formatSoakReport(report)}`;
      expect(report.kills, printed).toBe(2);
      // Runs within 3× their solo time is a figure of the machine's load: `pnpm soak` fails on it, a test
      // does not.
      const correctness = report.checks.filter((check) => check.kind === 'correctness');
      expect(correctness.map((check) => check.name)).toHaveLength(4);
      expect(
        correctness.filter((check) => !check.passed),
        printed,
      ).toEqual([]);
      // Every run that did not apply is in the report's explanation, once.
      const notApplied = Object.entries(report.runsByStatus)
        .filter(([status]) => status !== 'success' && status !== 'needs_attention')
        .reduce((sum, [, count]) => sum + count, 0);
      expect(
        report.unapplied.reduce((sum, group) => sum + group.runs, 0),
        printed,
      ).toBe(notApplied);
      // Both sources ran every minute during the soak, not only in the final runs.
      expect(
        report.durations.every((figure) => figure.runs >= 2),
        printed,
      ).toBe(true);
    },
    12 * 60_000,
  );
});

describe("the soak report's runs that did not apply", () => {
  const run = (
    organisation: number,
    status: string,
    errorSummary: string | null,
    killed: boolean,
  ): Parameters<typeof groupUnappliedRuns>[0][number] => ({
    connector: organisation === 2 ? 'google-workspace' : 'sftp',
    organisation,
    status,
    errorSummary,
    killed,
  });

  it('groups runs by connector, organisation, status and message, counts the ones a kill hit, most frequent first', () => {
    const superseded = 'The worker running this sync stopped responding; a newer run was already queued.';
    const groups = groupUnappliedRuns([
      run(
        2,
        'data_load_failed',
        'Google refused the users listing as invalid: Invalid Input: pageToken.',
        false,
      ),
      run(1, 'cancelled', superseded, true),
      run(1, 'cancelled', superseded, false),
      run(1, 'cancelled', superseded, true),
      run(2, 'cancelled', superseded, true),
    ]);
    expect(groups).toEqual([
      {
        connector: 'sftp',
        organisation: 1,
        status: 'cancelled',
        errorSummary: superseded,
        runs: 3,
        killed: 2,
      },
      {
        connector: 'google-workspace',
        organisation: 2,
        status: 'cancelled',
        errorSummary: superseded,
        runs: 1,
        killed: 1,
      },
      {
        connector: 'google-workspace',
        organisation: 2,
        status: 'data_load_failed',
        errorSummary: 'Google refused the users listing as invalid: Invalid Input: pageToken.',
        runs: 1,
        killed: 0,
      },
    ]);
  });

  it('prints one short line per group, or that there were none', () => {
    const report: SoakReport = {
      kills: 1,
      recoveries: 0,
      runsByStatus: { success: 3, cancelled: 1 },
      unapplied: groupUnappliedRuns([run(1, 'cancelled', `Stopped\n${'x'.repeat(500)}`, true)]),
      durations: [],
      workerPeakRssMb: 100,
      checks: [],
      passed: true,
    };
    const lines = formatSoakReport(report).split('\n');
    const explained = lines.filter((line) =>
      line.startsWith('  sftp #1 cancelled ×1 (kill hit 1): Stopped x'),
    );
    expect(explained).toHaveLength(1);
    expect(explained[0]!.length).toBeLessThan(220);
    expect(formatSoakReport({ ...report, unapplied: [] })).toContain('runs not applied: none');
  });
});

describe('pnpm soak flags', () => {
  const workerDirectory = fileURLToPath(new URL('..', import.meta.url));
  const soak = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'soak/soak.ts', ...args], {
      cwd: workerDirectory,
      encoding: 'utf8',
      env: { ...process.env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
    });

  it.each([
    ['a word', ['--minutes', 'abc'], /--minutes must be a number from 1 to 600, not "abc"/],
    ['a size out of range', ['--users', '1e9'], /--users must be a number from 10 to 500000/],
    ['a negative share', ['--churn=-0.1'], /--churn must be a number from 0.001 to 0.5/],
    [
      '10 KB of text',
      ['--organisations', 'x'.repeat(10_000)],
      /--organisations must be a number from 1 to 50, not "x{40}"$/m,
    ],
    ['an unknown flag', ['--bogus'], /Unknown option '--bogus'/],
  ])(
    'refuses %s with exit 2, the reason and the usage, before touching a database',
    (_label, args, message) => {
      const result = soak(...args);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toContain('usage: pnpm soak');
      expect(result.stdout).toBe('');
    },
    60_000,
  );
});
