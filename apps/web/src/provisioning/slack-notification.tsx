import { formatDateTime } from '@provisioning/shared';
import type { RouterOutputs } from '../api/trpc.ts';

type Notification = RouterOutputs['runs']['get']['notification'];

const STATE_LABELS = {
  pending: 'Waiting to be sent',
  sending: 'Being sent',
  sent: 'Sent',
  skipped: 'Not sent',
  failed: 'Failed',
} as const;

/**
 * Whether the run's outcome was posted to Slack, and if not why: an administrator who expected a message
 * sees here why none came (the policy, no workspace connected, the bot not in the channel...).
 */
export function SlackNotification({
  notification,
  finished,
  timeZone,
}: {
  notification: Notification;
  finished: boolean;
  timeZone: string;
}) {
  let state: string;
  let detail: string | null = null;
  if (notification === null) {
    state = finished ? 'None' : 'Not yet';
    detail = finished ? 'This run finished before Slack notifications were recorded.' : null;
  } else {
    state = STATE_LABELS[notification.state];
    if (notification.state === 'sent' && notification.sentAt) {
      const at = formatDateTime(notification.sentAt, timeZone);
      detail = `Posted at ${at.time} ${at.date}.`;
    } else if (notification.reason) {
      detail = notification.reason;
    }
  }
  return (
    <section aria-labelledby="slack-heading" data-notification={notification?.state ?? 'none'}>
      <h3 id="slack-heading" className="section-heading">
        Slack notification
      </h3>
      <p>
        <strong>{state}</strong>
        {detail && (
          <span className={notification?.state === 'failed' ? ' notice-error' : ' muted'}> — {detail}</span>
        )}
      </p>
    </section>
  );
}
