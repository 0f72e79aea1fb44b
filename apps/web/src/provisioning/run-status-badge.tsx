import { RUN_STATUS_INFO, type RunStatus } from '@provisioning/shared';
import * as Tooltip from '@radix-ui/react-tooltip';

/**
 * A run's status; its meaning and the recommended action show on hover and on keyboard focus (the badge
 * is a focusable button for that), and screen readers get them as the badge's description.
 */
export function RunStatusBadge({ status }: { status: RunStatus }) {
  const info = RUN_STATUS_INFO[status];
  return (
    <Tooltip.Root>
      <Tooltip.Trigger asChild>
        <button type="button" className={`badge badge-${status}`} data-status={status}>
          <span className="badge-dot" aria-hidden="true" />
          {info.label}
        </button>
      </Tooltip.Trigger>
      <Tooltip.Portal>
        <Tooltip.Content className="tooltip" side="top" sideOffset={6} collisionPadding={8}>
          <span className="tooltip-meaning">{info.meaning}</span>{' '}
          <span className="tooltip-action">{info.action}</span>
          <Tooltip.Arrow className="tooltip-arrow" />
        </Tooltip.Content>
      </Tooltip.Portal>
    </Tooltip.Root>
  );
}
