import { z } from 'zod';

/**
 * Which run outcomes a connected Slack workspace hears about. `failures-and-recovery` (the default):
 * every outcome other than Success, and the first Success after one of those for the same configuration.
 */
export const SLACK_NOTIFY_POLICIES = ['all', 'failures', 'failures-and-recovery'] as const;
export type SlackNotifyPolicy = (typeof SLACK_NOTIFY_POLICIES)[number];
export const SlackNotifyPolicySchema = z.enum(SLACK_NOTIFY_POLICIES, {
  error: () => `The notification policy must be one of: ${SLACK_NOTIFY_POLICIES.join(', ')}`,
});

/** The life of a run's Slack notification (`run_notification.state`). */
export const RUN_NOTIFICATION_STATES = ['pending', 'sending', 'sent', 'skipped', 'failed'] as const;
export type RunNotificationState = (typeof RUN_NOTIFICATION_STATES)[number];

/**
 * What a `run_notification` row announces: `run`, the run's outcome (one per finished run); `circuit`, its
 * configuration's streak of Data Load Failed runs reaching the alert or the pause (see the circuit breaker
 * in the configuration's columns). The run-notify job posts every kind a run has.
 */
export const RUN_NOTIFICATION_KINDS = ['run', 'circuit'] as const;
export type RunNotificationKind = (typeof RUN_NOTIFICATION_KINDS)[number];

/** A run's Slack notification as the run details show it: whether a message went out, and why not. */
export interface RunNotification {
  state: RunNotificationState;
  /** Why it was skipped or failed; null when sent or still on its way. */
  reason: string | null;
  /** When it was posted (sent only). */
  sentAt: string | null;
}

/** Minutes a `/sync-logs link` code stays valid. */
export const SLACK_LINK_CODE_MINUTES = 10;

/** The code a Slack user brings to `/slack/link?code=…`: 32 random bytes, base64url. */
export const SlackLinkCodeSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'This link code is not valid: run /sync-logs link in Slack for a new one');

export const SlackConfirmLinkInputSchema = z.strictObject({ code: SlackLinkCodeSchema });
export type SlackConfirmLinkInput = z.infer<typeof SlackConfirmLinkInputSchema>;
