import { formatCount, formatDuration, type RunListRow } from '@provisioning/shared';

/** How long a run took, or has been running so far (ticking), with its progress while In Progress. */
export function RunDuration({ run, now }: { run: RunListRow; now: number }) {
  if (run.status === 'queued') return <span className="muted">Waiting to start</span>;
  if (run.status !== 'in_progress') {
    return run.durationMs === null ? (
      <span className="muted">—</span>
    ) : (
      <span>{formatDuration(run.durationMs)}</span>
    );
  }
  const elapsed = run.startedAt ? now - Date.parse(run.startedAt) : 0;
  return (
    <span className="duration-live">
      <span className="duration-elapsed">{formatDuration(elapsed)}</span>
      <RunProgress run={run} />
    </span>
  );
}

/** Rows read, then planned, then applied: the phases of a run, with a bar once the plan is known. */
export function RunProgress({ run }: { run: RunListRow }) {
  const { read, planned, applied } = run.progress;
  let text: string;
  if (planned > 0) text = `${formatCount(applied)} of ${formatCount(planned)} applied`;
  else if (read > 0) text = `${formatCount(read)} rows read`;
  else text = 'Starting';
  return (
    <span className="progress">
      {planned > 0 && (
        <progress className="progress-bar" value={applied} max={planned} aria-label="Changes applied" />
      )}
      <span className="progress-text">{text}</span>
    </span>
  );
}
