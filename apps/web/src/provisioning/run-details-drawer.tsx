import {
  formatCount,
  formatDateTime,
  formatDuration,
  purgedLogReason,
  RUN_COUNT_KEYS,
  RUN_STATUS_INFO,
  type RunCountKey,
  runLogPath,
} from '@provisioning/shared';
import * as Dialog from '@radix-ui/react-dialog';
import { useQuery } from '@tanstack/react-query';
import { accessDenialOf, errorCode, errorMessage, type RouterOutputs, useTRPC } from '../api/trpc.ts';
import { ConnectorLabel } from './connector-icon.tsx';
import { ApprovalNote, PlannedDeactivations } from './planned-deactivations.tsx';
import { RunDuration } from './run-progress.tsx';
import { RunSource } from './run-source.tsx';
import { SlackNotification } from './slack-notification.tsx';
import { useNow } from './use-now.ts';

const COUNT_LABELS: Record<RunCountKey, string> = {
  created: 'Created',
  updated: 'Updated',
  reactivated: 'Reactivated',
  deactivated: 'Deactivated',
  unchanged: 'Unchanged',
  skipped: 'Skipped',
  warnings: 'Warnings',
  errors: 'Errors',
};

const TRIGGER_LABELS = {
  schedule: 'On schedule',
  manual: 'Started by hand',
  approval: 'Approved by support',
} as const;

/**
 * One run in a drawer over the list (the URL's `?run=`): counts by action, the error summary of a failed
 * load, the deactivations planned against the threshold, the source it read, and the log downloads.
 * Loaded on first use.
 */
export default function RunDetailsDrawer({
  runId,
  timeZone,
  onClose,
}: {
  runId: string;
  timeZone: string;
  onClose: () => void;
}) {
  return (
    <Dialog.Root open onOpenChange={(open) => !open && onClose()}>
      <Dialog.Portal>
        <Dialog.Overlay className="drawer-overlay" />
        <Dialog.Content className="drawer" aria-describedby={undefined}>
          <div className="drawer-header">
            <Dialog.Title className="drawer-title">Sync details</Dialog.Title>
            <Dialog.Close className="button button-quiet" aria-label="Close details">
              Close
            </Dialog.Close>
          </div>
          <RunDetailsBody runId={runId} timeZone={timeZone} />
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

function RunDetailsBody({ runId, timeZone }: { runId: string; timeZone: string }) {
  const trpc = useTRPC();
  const details = useQuery(trpc.runs.get.queryOptions({ runId }));
  const now = useNow(details.data?.status === 'in_progress');

  if (details.isPending) {
    return (
      <div className="drawer-body" role="status" aria-label="Loading the sync">
        <span className="skeleton skeleton-line" />
        <span className="skeleton skeleton-line" />
        <span className="skeleton skeleton-block" />
      </div>
    );
  }
  if (details.isError) {
    const notFound = errorCode(details.error) === 'NOT_FOUND' || errorCode(details.error) === 'BAD_REQUEST';
    return (
      <div className="drawer-body">
        <div className="notice notice-error" role="alert">
          <p>
            {notFound
              ? 'This sync does not exist, or is not one of your organisation’s.'
              : errorMessage(details.error)}
          </p>
          {!notFound && accessDenialOf(details.error) === null && (
            <button type="button" className="button" onClick={() => details.refetch()}>
              Try again
            </button>
          )}
        </div>
      </div>
    );
  }
  const run = details.data;
  const info = RUN_STATUS_INFO[run.status];
  const started = run.startedAt ? formatDateTime(run.startedAt, timeZone) : null;
  const queued = formatDateTime(run.queuedAt, timeZone);
  const finished = run.finishedAt ? formatDateTime(run.finishedAt, timeZone) : null;
  return (
    <div className="drawer-body">
      <p className="drawer-subtitle">
        <strong>{run.configurationName}</strong> · <ConnectorLabel connector={run.connector} />
      </p>
      <div className={`status-panel status-panel-${run.status}`} data-status={run.status}>
        <p className="status-panel-label">
          <span className={`badge-dot badge-dot-${run.status}`} aria-hidden="true" /> {info.label}
        </p>
        <p>{info.meaning}</p>
        <p className="status-panel-action">{info.action}</p>
      </div>

      <dl className="facts">
        <dt>Queued</dt>
        <dd>
          {queued.time} {queued.date}
        </dd>
        <dt>Started</dt>
        <dd>{started ? `${started.time} ${started.date}` : 'Not yet'}</dd>
        <dt>Finished</dt>
        <dd>{finished ? `${finished.time} ${finished.date}` : 'Not yet'}</dd>
        <dt>Duration</dt>
        <dd>
          {run.status === 'in_progress' || run.status === 'queued' ? (
            <RunDuration run={run} now={now} />
          ) : run.durationMs !== null ? (
            formatDuration(run.durationMs)
          ) : (
            '—'
          )}
        </dd>
        <dt>Trigger</dt>
        <dd data-testid="trigger">
          {TRIGGER_LABELS[run.trigger]}
          {run.triggerApproval && <span className="muted"> ({run.triggerApproval.reason})</span>}
        </dd>
        <dt>Rows read</dt>
        <dd>{formatCount(run.progress.read)}</dd>
      </dl>

      {run.status === 'data_load_failed' && run.errorSummary && (
        <section className="notice notice-error" aria-labelledby="error-summary-heading">
          <h3 id="error-summary-heading" className="notice-title">
            What went wrong
          </h3>
          <p className="error-summary">{run.errorSummary}</p>
        </section>
      )}
      {run.threshold && <ThresholdFigures threshold={run.threshold} />}
      {run.status === 'above_deactivation_threshold' && (
        <>
          <ApprovalNote approval={run.approval} timeZone={timeZone} />
          <PlannedDeactivations runId={run.id} planned={run.threshold?.plannedDeactivations ?? 0} />
        </>
      )}
      {run.status !== 'data_load_failed' && run.errorSummary && (
        <section className="notice" aria-labelledby="note-heading">
          <h3 id="note-heading" className="notice-title">
            Note
          </h3>
          <p>{run.errorSummary}</p>
        </section>
      )}

      <section aria-labelledby="counts-heading">
        <h3 id="counts-heading" className="section-heading">
          Changes by action
        </h3>
        {info.final ? (
          <table className="counts-table">
            <tbody>
              {RUN_COUNT_KEYS.map((key) => (
                <tr key={key} data-count={key}>
                  <th scope="row">{COUNT_LABELS[key]}</th>
                  <td>{formatCount(run.counts[key])}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="muted">Counts appear when the sync finishes.</p>
        )}
      </section>

      <RunSource source={run.source} />

      <section aria-labelledby="downloads-heading">
        <h3 id="downloads-heading" className="section-heading">
          Log
        </h3>
        {run.logPurge ? (
          <p className="muted" data-testid="log-purged">
            {purgedLogReason(run.logPurge, timeZone)}
          </p>
        ) : run.logKind ? (
          <p className="downloads">
            <a className="button" href={runLogPath(run.id, 'csv')} download>
              Download {run.logKind === 'error' ? 'error log' : 'sync log'} (CSV)
            </a>
            <a className="button" href={runLogPath(run.id, 'xlsx')} download>
              Download {run.logKind === 'error' ? 'error log' : 'sync log'} (Excel)
            </a>
          </p>
        ) : (
          <p className="muted">
            {info.final
              ? 'This sync has no log to download.'
              : 'The log can be downloaded when the sync finishes.'}
          </p>
        )}
      </section>

      <SlackNotification notification={run.notification} finished={info.final} timeZone={timeZone} />
    </div>
  );
}

function ThresholdFigures({
  threshold,
}: {
  threshold: NonNullable<RouterOutputs['runs']['get']['threshold']>;
}) {
  const { plannedDeactivations, activeManagedUsers, thresholdCount, thresholdPercent } = threshold;
  const share = activeManagedUsers > 0 ? (plannedDeactivations / activeManagedUsers) * 100 : 0;
  const percentLimit = Math.floor((activeManagedUsers * thresholdPercent) / 100);
  return (
    <section className="notice notice-warning" aria-labelledby="threshold-heading">
      <h3 id="threshold-heading" className="notice-title">
        Planned deactivations against the threshold
      </h3>
      <dl className="facts">
        <dt>Planned deactivations</dt>
        <dd data-testid="planned-deactivations">
          {formatCount(plannedDeactivations)} of {formatCount(activeManagedUsers)} active managed users (
          {share.toFixed(share < 10 ? 1 : 0)}%)
        </dd>
        <dt>Threshold</dt>
        <dd>
          At most {formatCount(thresholdCount)} users
          {activeManagedUsers >= 100 && (
            <>
              {' '}
              and at most {thresholdPercent}% ({formatCount(percentLimit)} users)
            </>
          )}
        </dd>
      </dl>
      <p>Nothing was written. Support can review the planned deactivations with you.</p>
    </section>
  );
}
