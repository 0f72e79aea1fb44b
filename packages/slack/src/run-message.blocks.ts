import {
  CONNECTOR_LABELS,
  formatCount,
  formatDateTime,
  formatDuration,
  type LogFormat,
  RUN_STATUS_INFO,
  type RunDetails,
  type RunStatus,
} from '@provisioning/shared';

/** The `metadata.event_type` of every run message: how a restarted job finds a message it already posted. */
export const RUN_MESSAGE_EVENT = 'provisioning_run_finished';

/** The `action_id` of the log buttons; the value is `<run id> <format>`. */
export const DOWNLOAD_LOG_ACTION = 'download_log';

/** Characters of a run's error summary shown in Slack (the whole text is in the run's details). */
export const ERROR_SUMMARY_MAX = 300;

const STATUS_EMOJI: Record<RunStatus, string> = {
  queued: ':hourglass_flowing_sand:',
  in_progress: ':arrows_counterclockwise:',
  success: ':white_check_mark:',
  needs_attention: ':warning:',
  data_load_failed: ':x:',
  above_deactivation_threshold: ':no_entry:',
  cancelled: ':black_square_for_stop:',
};

const COUNT_LABELS = [
  ['created', 'Created'],
  ['updated', 'Updated'],
  ['reactivated', 'Reactivated'],
  ['deactivated', 'Deactivated'],
  ['unchanged', 'Unchanged'],
  ['skipped', 'Skipped'],
  ['warnings', 'Warnings'],
  ['errors', 'Errors'],
] as const;

const EMAIL = /[^\s@<>"'(),;:]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/g;

/** Emails in a text, the local part hidden: a message in a channel names no person. */
export function maskEmails(text: string): string {
  return text.replace(EMAIL, (_match, domain: string) => `•••@${domain}`);
}

/** Text as mrkdwn shows it literally: Slack reads `&`, `<` and `>` as markup. */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** `text` cut to `max` characters, an ellipsis marking the cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export interface RunMessageInput {
  run: RunDetails;
  /** The organisation's time zone: the start is shown on its clock. */
  timeZone: string;
  /** The admin panel's address, for "Open run". */
  publicWebUrl: string;
}

export interface RunMessage {
  text: string;
  blocks: Record<string, unknown>[];
  metadata: { event_type: string; event_payload: { run_id: string } };
}

/** The admin page's address of a run's details. */
export function runPageUrl(publicWebUrl: string, runId: string): string {
  return `${publicWebUrl.replace(/\/+$/, '')}/provisioning?run=${encodeURIComponent(runId)}`;
}

/** The log buttons' value: what a click asks for. */
export function downloadValue(runId: string, format: LogFormat): string {
  return `${runId} ${format}`;
}

/**
 * A finished run as a Slack message (Block Kit): the outcome and configuration in the header, source,
 * start, duration and counts, the error summary (emails masked, at most ERROR_SUMMARY_MAX characters) or
 * the threshold figures, and buttons to open the run and, when it has a log, to have it sent by DM.
 * Never a person's name or email; never the sample of would-be deactivations.
 */
export function runMessage({ run, timeZone, publicWebUrl }: RunMessageInput): RunMessage {
  const status = RUN_STATUS_INFO[run.status];
  const configuration = truncate(run.configurationName, 100);
  const title = truncate(`${STATUS_EMOJI[run.status]} ${status.label} · ${configuration}`, 150);
  const start = formatDateTime(run.startedAt ?? run.queuedAt, timeZone);
  const fields = [
    `*Source*\n${CONNECTOR_LABELS[run.connector]}`,
    `*Started*\n${start.date}, ${start.time} (${escapeMrkdwn(timeZone)})`,
    `*Duration*\n${run.durationMs === null ? 'did not start' : formatDuration(run.durationMs)}`,
    `*Trigger*\n${run.trigger === 'schedule' ? 'Schedule' : 'Manual'}`,
  ];
  const counts = COUNT_LABELS.filter(([key]) => run.counts[key] > 0 || key === 'created' || key === 'updated')
    .map(([key, label]) => `${label} *${formatCount(run.counts[key])}*`)
    .join(' · ');
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: title, emoji: true } },
    { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) },
  ];
  if (run.status === 'success' || run.status === 'needs_attention') {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: counts } });
  }
  let summary: string | null = null;
  if (run.errorSummary) {
    summary = truncate(maskEmails(run.errorSummary.trim()), ERROR_SUMMARY_MAX);
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `*What happened*\n${escapeMrkdwn(summary)}` },
    });
  }
  if (run.threshold) {
    const t = run.threshold;
    const percentLimit = Math.floor((t.activeManagedUsers * t.thresholdPercent) / 100);
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: [
          `*Planned deactivations:* ${formatCount(t.plannedDeactivations)} of ${formatCount(t.activeManagedUsers)} active managed users`,
          `*Limits:* more than ${formatCount(t.thresholdCount)}, or more than ${t.thresholdPercent}% (${formatCount(percentLimit)}) from 100 active users`,
        ].join('\n'),
      },
    });
  }
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: escapeMrkdwn(`${status.meaning} ${status.action}`) }],
  });
  const buttons: Record<string, unknown>[] = [
    {
      type: 'button',
      text: { type: 'plain_text', text: 'Open run' },
      url: runPageUrl(publicWebUrl, run.id),
      action_id: 'open_run',
    },
  ];
  if (run.logKind !== null) {
    for (const [format, label] of [
      ['csv', 'Download CSV'],
      ['xlsx', 'Download Excel'],
    ] as const) {
      buttons.push({
        type: 'button',
        text: { type: 'plain_text', text: label },
        action_id: `${DOWNLOAD_LOG_ACTION}_${format}`,
        value: downloadValue(run.id, format),
      });
    }
  }
  blocks.push({ type: 'actions', elements: buttons });

  const text = [
    `${status.label}: ${run.configurationName} (${CONNECTOR_LABELS[run.connector]}), started ${start.date} ${start.time}.`,
    summary ?? '',
  ]
    .filter(Boolean)
    .join(' ');
  return {
    text: truncate(escapeMrkdwn(maskEmails(text)), 3000),
    blocks,
    metadata: { event_type: RUN_MESSAGE_EVENT, event_payload: { run_id: run.id } },
  };
}
