import { z } from 'zod';

export const RUN_STATUSES = [
  'queued',
  'in_progress',
  'success',
  'needs_attention',
  'data_load_failed',
  'above_deactivation_threshold',
  'cancelled',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const RunStatusSchema = z.enum(RUN_STATUSES, {
  error: () => `Status must be one of: ${RUN_STATUSES.join(', ')}`,
});

/** Which log a run offers for download: the sync result log, the error log, or none. */
export type RunLogKind = 'result' | 'error' | null;

export interface RunStatusInfo {
  label: string;
  meaning: string;
  action: string;
  logKind: RunLogKind;
  /** Finished: the run will not change status again. */
  final: boolean;
}

export const RUN_STATUS_INFO: Record<RunStatus, RunStatusInfo> = {
  queued: {
    label: 'Queued',
    meaning: 'The sync is scheduled or was triggered and has not started yet.',
    action: 'No action needed.',
    logKind: null,
    final: false,
  },
  in_progress: {
    label: 'In Progress',
    meaning: 'A worker is reading the source and updating the directory.',
    action: 'No action needed.',
    logKind: null,
    final: false,
  },
  success: {
    label: 'Success',
    meaning: 'The sync completed with no warnings.',
    action: 'No action needed.',
    logKind: 'result',
    final: true,
  },
  needs_attention: {
    label: 'Needs Attention',
    meaning: 'The sync completed, but some rows produced warnings and were skipped or partly applied.',
    action: 'Download the log and review the warnings.',
    logKind: 'result',
    final: true,
  },
  data_load_failed: {
    label: 'Data Load Failed',
    meaning: 'The source data could not be loaded. Nothing was written.',
    action: 'Download the error log and investigate.',
    logKind: 'error',
    final: true,
  },
  above_deactivation_threshold: {
    label: 'Above Deactivation Threshold',
    meaning: 'The sync would have deactivated more users than the threshold allows. Nothing was written.',
    action: 'Contact support.',
    logKind: null,
    final: true,
  },
  cancelled: {
    label: 'Cancelled',
    meaning: 'The sync was stopped before it completed. Nothing was written.',
    action: 'No action needed.',
    logKind: null,
    final: true,
  },
};

/**
 * The run ledger's legal moves, from each status to the statuses it may become. A worker's claim moves a
 * run to In Progress also from In Progress (a retry of a transient source error takes it again, with a new
 * attempt); a run whose worker died goes back to Queued. Final statuses lead nowhere.
 */
export const RUN_TRANSITIONS: Record<RunStatus, readonly RunStatus[]> = {
  queued: ['in_progress', 'cancelled'],
  in_progress: [
    'in_progress',
    'queued',
    'success',
    'needs_attention',
    'data_load_failed',
    'above_deactivation_threshold',
    'cancelled',
  ],
  success: [],
  needs_attention: [],
  data_load_failed: [],
  above_deactivation_threshold: [],
  cancelled: [],
};

/** The statuses a run may be in for a move to `to`: what every status update names in its WHERE. */
export function statusesBefore(to: RunStatus): RunStatus[] {
  return RUN_STATUSES.filter((from) => RUN_TRANSITIONS[from].includes(to));
}

/** How a run came to be queued: its schedule, support by hand, or support's approval of a blocked run. */
export const RUN_TRIGGERS = ['schedule', 'manual', 'approval'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

export const RUN_COUNT_KEYS = [
  'created',
  'updated',
  'reactivated',
  'deactivated',
  'unchanged',
  'skipped',
  'warnings',
  'errors',
] as const;
export type RunCountKey = (typeof RUN_COUNT_KEYS)[number];
export type RunCounts = Record<RunCountKey, number>;

export interface RunProgress {
  read: number;
  planned: number;
  applied: number;
}

/** Per-row actions recorded in a run's log. */
export const LOG_ACTIONS = [
  'create',
  'update',
  'reactivate',
  'deactivate',
  'unchanged',
  'skip',
  'error',
] as const;
export type LogAction = (typeof LOG_ACTIONS)[number];

export const LOG_OUTCOMES = ['applied', 'no_change', 'warning', 'failed', 'not_applied'] as const;
export type LogOutcome = (typeof LOG_OUTCOMES)[number];

/** How the log file and the page name each action and outcome. */
export const ACTION_LABELS: Record<LogAction, string> = {
  create: 'Created',
  update: 'Updated',
  reactivate: 'Reactivated',
  deactivate: 'Deactivated',
  unchanged: 'Unchanged',
  skip: 'Skipped',
  error: 'Error',
};

export const OUTCOME_LABELS: Record<LogOutcome, string> = {
  applied: 'Applied',
  no_change: 'No change',
  warning: 'Warning',
  failed: 'Failed',
  not_applied: 'Not applied',
};

/** Field-level change of one directory user: before → after. */
export type FieldChanges = Record<string, { before: string | null; after: string | null }>;
