import {
  CONNECTOR_LABELS,
  CONNECTORS,
  RUN_STATUS_INFO,
  RUN_STATUSES,
  type RunListFilter,
} from '@provisioning/shared';
import { formatDay } from './format.ts';
import { DEFAULT_FILTER } from './run-filter-url.ts';

export const RANGE_LABELS: Record<RunListFilter['range'], string> = {
  all: 'All Time',
  last7: 'Last 7 Days',
  last30: 'Last 30 Days',
  custom: 'Custom',
};

export const SORT_LABELS: Record<RunListFilter['sort'], string> = {
  newest: 'Newest first',
  oldest: 'Oldest first',
};

/** One active filter, shown as a button that removes it. */
export interface FilterPill {
  /** Stable across renders: the key of the pill in the list. */
  id: string;
  label: string;
  /** The filter without this pill. */
  remove(filter: RunListFilter): RunListFilter;
}

/** `1 Jan 2024 – 31 Jan 2024`, or the one day when both are the same. */
export function customRangeLabel(from: string, to: string): string {
  return from === to ? formatDay(from) : `${formatDay(from)} – ${formatDay(to)}`;
}

/**
 * The pills of a filter, in the order of the controls: date range, sort order, one per source,
 * configuration, then one per status. Defaults (All Time, Newest first, any source, any configuration,
 * any status) have none.
 */
export function filterPills(
  filter: RunListFilter,
  configurationName: (id: string) => string | undefined,
): FilterPill[] {
  const pills: FilterPill[] = [];
  if (filter.range !== 'all') {
    pills.push({
      id: 'range',
      label:
        filter.range === 'custom' && filter.from && filter.to
          ? customRangeLabel(filter.from, filter.to)
          : RANGE_LABELS[filter.range],
      remove: (current) => ({ ...current, range: 'all', from: undefined, to: undefined }),
    });
  }
  if (filter.sort !== DEFAULT_FILTER.sort) {
    pills.push({
      id: 'sort',
      label: SORT_LABELS[filter.sort],
      remove: (current) => ({ ...current, sort: DEFAULT_FILTER.sort }),
    });
  }
  for (const source of CONNECTORS.filter((candidate) => filter.sources.includes(candidate))) {
    pills.push({
      id: `source-${source}`,
      label: `Source: ${CONNECTOR_LABELS[source]}`,
      remove: (current) => ({ ...current, sources: current.sources.filter((other) => other !== source) }),
    });
  }
  if (filter.configurationId) {
    pills.push({
      id: 'configuration',
      label: `Configuration: ${configurationName(filter.configurationId) ?? 'unknown configuration'}`,
      remove: (current) => ({ ...current, configurationId: undefined }),
    });
  }
  for (const status of RUN_STATUSES.filter((candidate) => filter.statuses.includes(candidate))) {
    pills.push({
      id: `status-${status}`,
      label: `Status: ${RUN_STATUS_INFO[status].label}`,
      remove: (current) => ({ ...current, statuses: current.statuses.filter((other) => other !== status) }),
    });
  }
  return pills;
}
