import { describe, expect, it } from 'vitest';
import { notifyDecision } from './notify-policy.ts';

describe('notifyDecision', () => {
  it('posts every outcome but Success under every policy', () => {
    for (const policy of ['all', 'failures', 'failures-and-recovery'] as const) {
      for (const status of [
        'needs_attention',
        'data_load_failed',
        'above_deactivation_threshold',
        'cancelled',
      ] as const) {
        expect(notifyDecision(policy, status, 'success')).toEqual({ send: true });
      }
    }
  });

  it('posts a Success only when it follows another outcome, by default', () => {
    expect(notifyDecision('failures-and-recovery', 'success', 'data_load_failed')).toEqual({ send: true });
    expect(notifyDecision('failures-and-recovery', 'success', 'success')).toMatchObject({ send: false });
    expect(notifyDecision('failures-and-recovery', 'success', null)).toMatchObject({ send: false });
  });

  it('posts every Success with all, none with failures', () => {
    expect(notifyDecision('all', 'success', 'success')).toEqual({ send: true });
    expect(notifyDecision('failures', 'success', 'cancelled')).toMatchObject({
      send: false,
      reason: expect.stringContaining('policy: failures'),
    });
  });
});
