import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatSoakReport, runSoak } from '../soak/soak-run.ts';

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
      // Both sources ran on their schedule during the soak, not only in the final runs.
      expect(
        report.durations.every((figure) => figure.runs >= 2),
        printed,
      ).toBe(true);
    },
    12 * 60_000,
  );
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
