import type { CircuitFacts } from '@provisioning/db';
import { CONNECTOR_LABELS, type RunDetails } from '@provisioning/shared';
import {
  ERROR_SUMMARY_MAX,
  escapeMrkdwn,
  maskEmails,
  type RunMessage,
  runPageUrl,
  truncate,
} from './run-message.blocks.ts';

/** The `metadata.event_type` of a circuit message: how a restarted job finds one it already posted. */
export const CIRCUIT_MESSAGE_EVENT = 'provisioning_circuit_breaker';

export interface CircuitMessageInput {
  /** The run whose failure reached the alert or the pause. */
  run: RunDetails;
  circuit: CircuitFacts;
  publicWebUrl: string;
}

/**
 * A configuration's failure streak as a Slack message: its name, how many runs in a row ended Data Load
 * Failed, the last error (emails masked, at most ERROR_SUMMARY_MAX characters), and whether its schedule
 * is now paused (and what resumes it) or when it will be. Never a person's name or email.
 */
export function circuitMessage({ run, circuit, publicWebUrl }: CircuitMessageInput): RunMessage {
  const configuration = truncate(run.configurationName, 100);
  const n = circuit.consecutiveFailures;
  const times = `${n} ${n === 1 ? 'time' : 'times'} in a row`;
  const title = truncate(
    `:rotating_light: ${n} failed ${n === 1 ? 'run' : 'runs'} in a row${circuit.paused ? ', paused' : ''} · ${configuration}`,
    150,
  );
  const lastError = truncate(
    maskEmails((run.errorSummary ?? 'No error was recorded.').trim()),
    ERROR_SUMMARY_MAX,
  );
  const state = circuit.paused
    ? 'Its scheduled runs are paused: none is queued until support resumes the configuration (config resume). A manual run still works.'
    : `Its scheduled runs continue; after ${circuit.pauseAfterFailures} failures in a row they are paused.`;
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: title, emoji: true } },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: escapeMrkdwn(
          `${run.configurationName} (${CONNECTOR_LABELS[run.connector]}) ended Data Load Failed ${times}.`,
        ),
      },
    },
    { type: 'section', text: { type: 'mrkdwn', text: `*Last error*\n${escapeMrkdwn(lastError)}` } },
    { type: 'section', text: { type: 'mrkdwn', text: escapeMrkdwn(state) } },
    {
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Open run' },
          url: runPageUrl(publicWebUrl, run.id),
          action_id: 'open_run',
        },
      ],
    },
  ];
  const text = `${circuit.paused ? 'Paused' : 'Failing'}: ${run.configurationName} ended Data Load Failed ${times}. Last error: ${lastError} ${state}`;
  return {
    text: truncate(escapeMrkdwn(maskEmails(text)), 3000),
    blocks,
    metadata: { event_type: CIRCUIT_MESSAGE_EVENT, event_payload: { run_id: run.id } },
  };
}
