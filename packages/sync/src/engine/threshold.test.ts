import { DEFAULT_THRESHOLD_COUNT, DEFAULT_THRESHOLD_PERCENT } from '@provisioning/shared';
import { describe, expect, it } from 'vitest';
import { checkApproval, checkThreshold, type PlanApproval } from './threshold.ts';
import type { Plan } from './types.ts';

function planned(deactivated: number, activeManagedUsers: number): Plan {
  return {
    actions: [],
    counts: { created: 0, updated: 0, reactivated: 0, deactivated, unchanged: 0, skipped: 0, warnings: 0 },
    activeManagedUsers,
  };
}

const defaults = { thresholdCount: DEFAULT_THRESHOLD_COUNT, thresholdPercent: DEFAULT_THRESHOLD_PERCENT };

describe('checkThreshold', () => {
  it('allows exactly the percentage: 200 of 1,000 at 20%', () => {
    expect(checkThreshold(planned(200, 1000), defaults)).toBeNull();
  });

  it('blocks one more than the percentage: 201 of 1,000 at 20%', () => {
    expect(checkThreshold(planned(201, 1000), defaults)).toEqual({
      plannedDeactivations: 201,
      activeManagedUsers: 1000,
      thresholdCount: 500,
      thresholdPercent: 20,
      finding: 'The sync would deactivate 201 of 1,000 active users it manages, more than 20% of them (200).',
      message:
        'The sync would deactivate 201 of 1,000 active users it manages, more than 20% of them (200). Nothing was written.',
    });
  });

  it('allows exactly the count and blocks one more', () => {
    const limits = { thresholdCount: 500, thresholdPercent: 100 };
    expect(checkThreshold(planned(500, 10_000), limits)).toBeNull();
    expect(checkThreshold(planned(501, 10_000), limits)).toMatchObject({
      plannedDeactivations: 501,
      message:
        'The sync would deactivate 501 of 10,000 active users it manages, more than the limit of 500. Nothing was written.',
    });
  });

  it('names both limits when both are exceeded', () => {
    expect(checkThreshold(planned(600, 1000), defaults)?.message).toBe(
      'The sync would deactivate 600 of 1,000 active users it manages, more than the limit of 500 and more than ' +
        '20% of them (200). Nothing was written.',
    );
  });

  it('does not apply the percentage below 100 active managed users', () => {
    expect(checkThreshold(planned(99, 99), defaults)).toBeNull();
    expect(checkThreshold(planned(50, 99), defaults)).toBeNull();
  });

  it('applies the percentage from exactly 100 active managed users', () => {
    expect(checkThreshold(planned(20, 100), defaults)).toBeNull();
    expect(checkThreshold(planned(21, 100), defaults)).not.toBeNull();
  });

  it('compares a fractional percentage exactly', () => {
    // 12.5% of 1,000 is 125; floating point must not tip either side of the boundary.
    const limits = { thresholdCount: 10_000, thresholdPercent: 12.5 };
    expect(checkThreshold(planned(125, 1000), limits)).toBeNull();
    expect(checkThreshold(planned(126, 1000), limits)).not.toBeNull();
    const awkward = { thresholdCount: 10_000, thresholdPercent: 0.07 };
    expect(checkThreshold(planned(7, 10_000), awkward)).toBeNull();
    expect(checkThreshold(planned(8, 10_000), awkward)).not.toBeNull();
  });

  it('blocks any deactivation when the count limit is zero', () => {
    expect(checkThreshold(planned(0, 50), { thresholdCount: 0, thresholdPercent: 20 })).toBeNull();
    expect(checkThreshold(planned(1, 50), { thresholdCount: 0, thresholdPercent: 20 })).not.toBeNull();
  });
});

/** A plan deactivating the given users, of 1,000 active managed users. */
function deactivating(userIds: string[]): Plan {
  return {
    actions: userIds.map((userId) => ({
      action: 'deactivate' as const,
      userId,
      externalId: null,
      email: `${userId}@example.com`,
      name: userId,
    })),
    counts: {
      created: 0,
      updated: 0,
      reactivated: 0,
      deactivated: userIds.length,
      unchanged: 0,
      skipped: 0,
      warnings: 0,
    },
    activeManagedUsers: 1000,
  };
}

const ids = (count: number, from = 0) => Array.from({ length: count }, (_, i) => `u${from + i}`);

function approvalOf(userIds: string[], overrides: Partial<PlanApproval> = {}): PlanApproval {
  return {
    approvedBy: 'Sam Support',
    usable: true,
    expiresAt: new Date('2026-12-03T10:00:00Z'),
    usedByRunId: null,
    approvedUserIds: new Set(userIds),
    ...overrides,
  };
}

describe('checkApproval', () => {
  const exceededBy = (plan: Plan) => checkThreshold(plan, defaults)!;

  it('passes a plan that deactivates exactly the approved users, or fewer of them', () => {
    const plan = deactivating(ids(600));
    expect(checkApproval(plan, exceededBy(plan), approvalOf(ids(600)))).toEqual({ pass: true });
    const smaller = deactivating(ids(550));
    expect(checkApproval(smaller, exceededBy(smaller), approvalOf(ids(600)))).toEqual({ pass: true });
  });

  it('refuses a plan that grew, saying how many deactivations were not approved and by whom it was', () => {
    const plan = deactivating([...ids(600), ...ids(12, 5000)]);
    expect(checkApproval(plan, exceededBy(plan), approvalOf(ids(600)))).toEqual({
      pass: false,
      outcome: 'plan_grew',
      message:
        'The sync would deactivate 612 of 1,000 active users it manages, more than the limit of 500 and more than 20% of them (200). ' +
        '12 deactivations were not in the approved plan (approved by Sam Support). Nothing was written.',
    });
    const one = deactivating([...ids(599), 'someone-else']);
    const check = checkApproval(one, exceededBy(one), approvalOf(ids(600)));
    expect(check.pass === false && check.message).toContain(
      '1 deactivation was not in the approved plan (approved by Sam Support).',
    );
  });

  it('refuses an approved plan when the approval expired or was used already', () => {
    const plan = deactivating(ids(600));
    expect(checkApproval(plan, exceededBy(plan), approvalOf(ids(600), { usable: false }))).toMatchObject({
      pass: false,
      outcome: 'lapsed',
      message: expect.stringContaining('The approval by Sam Support expired at 2026-12-03T10:00:00.000Z.'),
    });
    expect(
      checkApproval(plan, exceededBy(plan), approvalOf(ids(600), { usable: false, usedByRunId: 'a-run' })),
    ).toMatchObject({ pass: false, message: expect.stringContaining('was already used by run a-run') });
  });
});
