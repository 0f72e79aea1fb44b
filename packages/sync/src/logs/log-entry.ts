import type { FieldChanges, LogAction, LogOutcome } from '@provisioning/shared';

/** One line of a run's log as a run writes it: a source row, a deactivation or a load error. */
export interface LogEntry {
  rowNumber: number | null;
  externalId: string | null;
  email: string | null;
  name: string | null;
  action: LogAction;
  outcome: LogOutcome;
  changes: FieldChanges | null;
  message: string | null;
  hint?: string | null;
}
