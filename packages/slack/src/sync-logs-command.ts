import { LOG_FORMATS, type LogFormat } from '@provisioning/shared';

/** What `/sync-logs` was asked: help, linking, or a run's log in a format. */
export type SyncLogsRequest =
  | { kind: 'help' }
  | { kind: 'link' }
  | { kind: 'unlink' }
  | {
      kind: 'log';
      target: { kind: 'latest' } | { kind: 'run'; runId: string } | { kind: 'configuration'; name: string };
      format: LogFormat;
    }
  | { kind: 'invalid'; problem: string };

export const SYNC_LOGS_USAGE = [
  '*/sync-logs* sends you a run’s log file in a direct message.',
  '• `/sync-logs` — the latest run that has a log, as CSV',
  '• `/sync-logs latest xlsx` — the same, as Excel',
  '• `/sync-logs 3f2b…-run-id csv` — a run by its ID (from the run’s details)',
  '• `/sync-logs "HR export" xlsx` — the latest run of a configuration, its name in quotes',
  '• `/sync-logs link` — link your Slack account to your User Provisioning account (once)',
  '• `/sync-logs unlink` — remove that link',
  '• `/sync-logs help` — this help',
].join('\n');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Straight or typographic quotes (Slack's clients may turn one into the other). */
const QUOTED = /^["“”]([^"“”]{1,200})["“”]$/;
const MAX_TEXT = 300;

/** Parses the command's text; anything it does not understand is `invalid` with what was wrong. */
export function parseSyncLogs(text: string): SyncLogsRequest {
  const trimmed = text.trim().replace(/\s+/g, ' ');
  if (trimmed.length > MAX_TEXT) return { kind: 'invalid', problem: 'That is longer than any request.' };
  const lower = trimmed.toLowerCase();
  if (lower === 'help') return { kind: 'help' };
  if (lower === 'link') return { kind: 'link' };
  if (lower === 'unlink') return { kind: 'unlink' };
  let rest = trimmed;
  let format: LogFormat = 'csv';
  const formatMatch = /(?:^|\s)(csv|xlsx)$/i.exec(rest);
  if (formatMatch) {
    format = formatMatch[1]!.toLowerCase() as LogFormat;
    rest = rest.slice(0, formatMatch.index).trim();
  }
  if (rest === '' || rest.toLowerCase() === 'latest')
    return { kind: 'log', target: { kind: 'latest' }, format };
  if (UUID.test(rest)) return { kind: 'log', target: { kind: 'run', runId: rest.toLowerCase() }, format };
  const quoted = QUOTED.exec(rest);
  if (quoted) return { kind: 'log', target: { kind: 'configuration', name: quoted[1]!.trim() }, format };
  const lastWord = rest.split(' ').at(-1) ?? '';
  if (/^(excel|xls|pdf|txt|json)$/i.test(lastWord)) {
    return { kind: 'invalid', problem: `The format must be ${LOG_FORMATS.join(' or ')}, not “${lastWord}”.` };
  }
  return {
    kind: 'invalid',
    problem: `“${rest.slice(0, 80)}” is not a run ID, \`latest\`, or a configuration name in quotes.`,
  };
}
