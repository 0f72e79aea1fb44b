import { describe, expect, it } from 'vitest';
import { purgedLogReason, retentionOrderProblem } from './log-retention.ts';
import { OrganisationUpdateSchema } from './organisation.ts';

function messages(value: unknown): string[] {
  const result = OrganisationUpdateSchema.safeParse(value);
  return result.error?.issues.map((issue) => issue.message) ?? [];
}

describe('retention settings', () => {
  it('takes whole days from 7 to 3650', () => {
    expect(OrganisationUpdateSchema.parse({ logRetentionDays: 7, runRetentionDays: 3650 })).toEqual({
      logRetentionDays: 7,
      runRetentionDays: 3650,
    });
  });

  it.each([
    [{ logRetentionDays: -5 }, 'Log retention must be at least 7 days'],
    [{ logRetentionDays: 6 }, 'Log retention must be at least 7 days'],
    [{ runRetentionDays: 3651 }, 'Run retention must be at most 3650 days (10 years)'],
    [{ runRetentionDays: 1e20 }, 'Run retention must be at most 3650 days (10 years)'],
    [{ logRetentionDays: 30.5 }, 'Log retention must be a whole number of days'],
    [{ logRetentionDays: '90' }, 'Log retention must be a number of days'],
    [{ logRetentionDays: Number.NaN }, 'Log retention must be a number of days'],
  ])('refuses %j', (input, message) => {
    expect(messages(input)).toEqual([message]);
  });

  it('keeps a run’s record at least as long as its log', () => {
    expect(retentionOrderProblem(90, 90)).toBeNull();
    expect(retentionOrderProblem(90, 400)).toBeNull();
    expect(retentionOrderProblem(100, 50)).toBe(
      "Run retention (50 days) must be at least the log retention (100 days): a run's record is kept at least as long as its log",
    );
  });
});

describe('a purged log’s reason', () => {
  it('names the day of the purge in the organisation’s time zone and the retention it went under', () => {
    const purge = { purgedAt: '2027-03-02T23:30:00.000Z', retentionDays: 90 };
    expect(purgedLogReason(purge, 'Asia/Kolkata')).toBe(
      'This log was deleted on 3 Mar 2027 under the 90-day retention policy.',
    );
    expect(purgedLogReason(purge, 'UTC')).toBe(
      'This log was deleted on 2 Mar 2027 under the 90-day retention policy.',
    );
  });
});
