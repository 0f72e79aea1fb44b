import { describe, expect, it } from 'vitest';
import { RUN_STATUS_INFO, RUN_STATUSES, RUN_TRANSITIONS, statusesBefore } from './run-status.ts';

describe('run transitions', () => {
  it('lead nowhere from a final status and somewhere from every other', () => {
    for (const status of RUN_STATUSES) {
      expect(RUN_TRANSITIONS[status].length === 0, status).toBe(RUN_STATUS_INFO[status].final);
    }
  });

  it('reach a final status from every unfinished one', () => {
    for (const status of RUN_STATUSES.filter((s) => !RUN_STATUS_INFO[s].final)) {
      expect(
        RUN_TRANSITIONS[status].some((to) => RUN_STATUS_INFO[to].final),
        status,
      ).toBe(true);
    }
  });

  it('name the statuses a move may come from', () => {
    expect(statusesBefore('queued')).toEqual(['in_progress']);
    expect(statusesBefore('in_progress')).toEqual(['queued', 'in_progress']);
    expect(statusesBefore('cancelled')).toEqual(['queued', 'in_progress']);
    expect(statusesBefore('success')).toEqual(['in_progress']);
  });
});
