import { formatDateTime, type RunListRow } from '@provisioning/shared';
import { handleLinkClick } from '../navigation/location.ts';
import { ConnectorLabel } from './connector-icon.tsx';
import { LogDownloadMenu } from './log-download-menu.tsx';
import { RunDuration } from './run-progress.tsx';
import { RunStatusBadge } from './run-status-badge.tsx';
import { useNow } from './use-now.ts';

const COLUMNS = ['Started', 'Source', 'Configuration', 'Status', 'Duration', 'Log', 'Details'] as const;

/** When a run started, or was queued while it waits. */
export function runStartTime(run: Pick<RunListRow, 'startedAt' | 'queuedAt'>): string {
  return run.startedAt ?? run.queuedAt;
}

export function RunsTable({
  runs,
  timeZone,
  detailsHref,
  busy,
}: {
  runs: RunListRow[];
  timeZone: string;
  detailsHref: (runId: string) => string;
  /** New rows are on their way (a changed filter): the old ones stay, dimmed, meanwhile. */
  busy: boolean;
}) {
  const now = useNow(runs.some((run) => run.status === 'in_progress'));
  return (
    <div className="table-scroll">
      <table className="runs-table" aria-busy={busy || undefined} data-busy={busy || undefined}>
        <caption id="runs-caption" className="visually-hidden">
          Sync history, times in {timeZone}
        </caption>
        <thead>
          <tr>
            {COLUMNS.map((column) => (
              <th key={column} scope="col" className={`col-${column.toLowerCase()}`}>
                {column === 'Details' ? <span className="visually-hidden">Details</span> : column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => {
            const { time, date } = formatDateTime(runStartTime(run), timeZone);
            const context = `the ${run.configurationName} sync of ${date} ${time}`;
            return (
              <tr key={run.id} data-run-id={run.id} data-status={run.status}>
                <td className="col-started">
                  <time dateTime={runStartTime(run)}>
                    <span className="time">{time}</span> <span className="date">{date}</span>
                  </time>
                  {run.startedAt === null && <span className="muted small"> (queued)</span>}
                </td>
                <td className="col-source">
                  <ConnectorLabel connector={run.connector} />
                </td>
                <td className="col-configuration">{run.configurationName}</td>
                <td className="col-status">
                  <RunStatusBadge status={run.status} />
                </td>
                <td className="col-duration">
                  <RunDuration run={run} now={now} />
                </td>
                <td className="col-log">
                  <LogDownloadMenu run={run} context={context} timeZone={timeZone} />
                </td>
                <td className="col-details">
                  <a href={detailsHref(run.id)} onClick={handleLinkClick} className="details-link">
                    Details<span className="visually-hidden"> of {context}</span>
                  </a>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** Placeholder rows while the first page loads, shaped like the real ones. */
export function RunsTableSkeleton({ rows = 8 }: { rows?: number }) {
  return (
    <div className="table-scroll">
      <table className="runs-table runs-table-skeleton" aria-hidden="true">
        <thead>
          <tr>
            {COLUMNS.map((column) => (
              <th key={column} className={`col-${column.toLowerCase()}`}>
                {column === 'Details' ? '' : column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {Array.from({ length: rows }, (_, row) => (
            <tr key={row}>
              {COLUMNS.map((column) => (
                <td key={column}>
                  <span className="skeleton" />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
