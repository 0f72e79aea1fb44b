import { purgedLogReason, type RunListRow, runLogPath } from '@provisioning/shared';
import * as DropdownMenu from '@radix-ui/react-dropdown-menu';

const LOG_NAMES = { result: 'sync log', error: 'error log' } as const;

/**
 * The Download control of a run with a log: CSV or Excel. Each is a plain link to the API's download, so
 * the browser saves the file under the name the server gives it (`Sync Logs - 15 Jan 2024 10.30pm.csv`).
 * A log retention deleted has no menu: the cell says so, and why.
 */
export function LogDownloadMenu({
  run,
  context,
  timeZone,
}: {
  run: RunListRow;
  context: string;
  timeZone: string;
}) {
  if (run.logPurge) {
    const reason = purgedLogReason(run.logPurge, timeZone);
    return (
      <span className="muted small" title={reason} data-testid="log-purged">
        Deleted<span className="visually-hidden">: {reason}</span>
      </span>
    );
  }
  if (run.logKind === null) {
    return (
      <span className="muted" title="This run has no log to download">
        <span aria-hidden="true">—</span>
        <span className="visually-hidden">No log</span>
      </span>
    );
  }
  const logName = LOG_NAMES[run.logKind];
  return (
    <DropdownMenu.Root modal={false}>
      <DropdownMenu.Trigger asChild>
        <button
          type="button"
          className="button button-small"
          aria-label={`Download ${logName} of ${context}`}
        >
          Download
          <svg className="chevron" viewBox="0 0 12 12" aria-hidden="true" focusable="false">
            <path d="M3 4.5l3 3 3-3" fill="none" stroke="currentColor" strokeWidth="1.5" />
          </svg>
        </button>
      </DropdownMenu.Trigger>
      <DropdownMenu.Portal>
        <DropdownMenu.Content className="menu" align="end" sideOffset={4} collisionPadding={8}>
          <DropdownMenu.Label className="menu-label">Download the {logName}</DropdownMenu.Label>
          <DropdownMenu.Item asChild className="menu-item">
            <a href={runLogPath(run.id, 'csv')} download>
              CSV
            </a>
          </DropdownMenu.Item>
          <DropdownMenu.Item asChild className="menu-item">
            <a href={runLogPath(run.id, 'xlsx')} download>
              Excel (XLSX)
            </a>
          </DropdownMenu.Item>
        </DropdownMenu.Content>
      </DropdownMenu.Portal>
    </DropdownMenu.Root>
  );
}
