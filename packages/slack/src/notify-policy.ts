import type { RunStatus, SlackNotifyPolicy } from '@provisioning/shared';

export type PolicyDecision = { send: true } | { send: false; reason: string };

/**
 * Whether a finished run is posted under the workspace's policy. `failures-and-recovery` (the default):
 * every outcome but Success, and a Success whose configuration's previous finished run was not one
 * (the all-clear after a problem). `failures`: every outcome but Success. `all`: every outcome.
 */
export function notifyDecision(
  policy: SlackNotifyPolicy,
  status: RunStatus,
  previous: RunStatus | null,
): PolicyDecision {
  if (status !== 'success' || policy === 'all') return { send: true };
  if (policy === 'failures') {
    return { send: false, reason: 'Successful runs are not posted (notification policy: failures).' };
  }
  if (previous !== null && previous !== 'success') return { send: true };
  return {
    send: false,
    reason:
      'Successful runs are posted only after a run that was not (notification policy: failures-and-recovery).',
  };
}
