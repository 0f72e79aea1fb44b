import { describe, expect, it } from 'vitest';
import { formatSoakReport, runSoak } from '../soak/soak-run.ts';

describe('the soak, 2-minute variant (pnpm soak runs the long one)', () => {
  it(
    'keeps two workers syncing 2 × 5k users through churn and 2 SIGKILLs, and every check holds after the drain',
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
      expect(
        report.checks.filter((check) => !check.passed),
        printed,
      ).toEqual([]);
      expect(report.checks.map((check) => check.name)).toHaveLength(5);
      // Both sources ran on their schedule during the soak, not only in the final runs.
      expect(
        report.durations.every((figure) => figure.runs >= 2),
        printed,
      ).toBe(true);
    },
    12 * 60_000,
  );
});
