import {
  RUN_DATE_RANGES,
  RUN_SORTS,
  RUN_STATUS_INFO,
  RUN_STATUSES,
  type RunListFilter,
  type RunStatus,
} from '@provisioning/shared';
import * as Popover from '@radix-ui/react-popover';
import { lazy, Suspense, useRef, useState } from 'react';
import type { ConfigurationChoice } from '../api/trpc.ts';
import { customRangeLabel, RANGE_LABELS, SORT_LABELS } from './filter-pills.ts';

const DateRangePicker = lazy(() => import('./date-range-picker.tsx'));

/** The filters above the table; each change applies at once (and lands in the URL). */
export function RunFilters({
  filter,
  configurations,
  onChange,
}: {
  filter: RunListFilter;
  configurations: ConfigurationChoice[] | undefined;
  onChange: (filter: RunListFilter) => void;
}) {
  return (
    <form className="filters" aria-label="Filter syncs" onSubmit={(event) => event.preventDefault()}>
      <DateRangeFilter filter={filter} onChange={onChange} />
      <div className="filter-field">
        <label htmlFor="filter-sort">Sort</label>
        <select
          id="filter-sort"
          value={filter.sort}
          onChange={(event) => onChange({ ...filter, sort: event.target.value as RunListFilter['sort'] })}
        >
          {RUN_SORTS.map((sort) => (
            <option key={sort} value={sort}>
              {SORT_LABELS[sort]}
            </option>
          ))}
        </select>
      </div>
      <div className="filter-field">
        <label htmlFor="filter-configuration">Configuration</label>
        <select
          id="filter-configuration"
          value={filter.configurationId ?? ''}
          onChange={(event) => onChange({ ...filter, configurationId: event.target.value || undefined })}
        >
          <option value="">All configurations</option>
          {configurations?.map((configuration) => (
            <option key={configuration.id} value={configuration.id}>
              {configuration.name}
            </option>
          ))}
          {/* A configuration from a shared link that is not (or no longer) the organisation's. */}
          {filter.configurationId && !configurations?.some((c) => c.id === filter.configurationId) && (
            <option value={filter.configurationId}>
              {configurations ? 'Unknown configuration' : 'Loading…'}
            </option>
          )}
        </select>
      </div>
      <StatusFilter statuses={filter.statuses} onChange={(statuses) => onChange({ ...filter, statuses })} />
    </form>
  );
}

function DateRangeFilter({
  filter,
  onChange,
}: {
  filter: RunListFilter;
  onChange: (filter: RunListFilter) => void;
}) {
  const [pickerOpen, setPickerOpen] = useState(false);
  const selectRef = useRef<HTMLSelectElement>(null);
  const custom =
    filter.range === 'custom' && filter.from && filter.to ? { from: filter.from, to: filter.to } : null;
  return (
    <div className="filter-field">
      <label htmlFor="filter-range">Date range</label>
      <Popover.Root open={pickerOpen} onOpenChange={setPickerOpen}>
        <div className="filter-range-controls">
          <Popover.Anchor asChild>
            <select
              ref={selectRef}
              id="filter-range"
              value={pickerOpen ? 'custom' : filter.range}
              onChange={(event) => {
                const range = event.target.value as RunListFilter['range'];
                if (range === 'custom') setPickerOpen(true);
                else onChange({ ...filter, range, from: undefined, to: undefined });
              }}
            >
              {RUN_DATE_RANGES.map((range) => (
                <option key={range} value={range}>
                  {range === 'custom' ? 'Custom…' : RANGE_LABELS[range]}
                </option>
              ))}
            </select>
          </Popover.Anchor>
          {custom && (
            <Popover.Trigger asChild>
              <button type="button" className="button button-small" aria-label="Change the custom dates">
                {customRangeLabel(custom.from, custom.to)}
              </button>
            </Popover.Trigger>
          )}
        </div>
        <Popover.Portal>
          <Popover.Content
            className="popover"
            align="start"
            sideOffset={6}
            collisionPadding={8}
            aria-label="Custom date range"
            onCloseAutoFocus={(event) => {
              // Opened from the select (no trigger to return to): focus goes back to the select.
              event.preventDefault();
              selectRef.current?.focus();
            }}
          >
            <Suspense fallback={<p className="popover-loading">Loading the calendar…</p>}>
              <DateRangePicker
                from={custom?.from}
                to={custom?.to}
                onCancel={() => setPickerOpen(false)}
                onApply={(from, to) => {
                  setPickerOpen(false);
                  onChange({ ...filter, range: 'custom', from, to });
                }}
              />
            </Suspense>
          </Popover.Content>
        </Popover.Portal>
      </Popover.Root>
    </div>
  );
}

function StatusFilter({
  statuses,
  onChange,
}: {
  statuses: RunStatus[];
  onChange: (statuses: RunStatus[]) => void;
}) {
  const summary =
    statuses.length === 0
      ? 'Any status'
      : statuses.length === 1
        ? RUN_STATUS_INFO[statuses[0]!].label
        : `${statuses.length} statuses`;
  return (
    <div className="filter-field">
      <span className="label" id="filter-status-label">
        Status
      </span>
      <Popover.Root>
        <Popover.Trigger asChild>
          <button
            type="button"
            id="filter-status"
            className="select-button"
            aria-labelledby="filter-status-label filter-status"
          >
            {summary}
            <svg className="chevron" viewBox="0 0 12 12" aria-hidden="true" focusable="false">
              <path d="M3 4.5l3 3 3-3" fill="none" stroke="currentColor" strokeWidth="1.5" />
            </svg>
          </button>
        </Popover.Trigger>
        <Popover.Portal>
          <Popover.Content className="popover" align="start" sideOffset={6} collisionPadding={8}>
            <fieldset className="status-options">
              <legend>Show runs that are</legend>
              {RUN_STATUSES.map((status) => (
                <label key={status} className="checkbox">
                  <input
                    type="checkbox"
                    checked={statuses.includes(status)}
                    onChange={(event) =>
                      onChange(
                        event.target.checked
                          ? RUN_STATUSES.filter((s) => s === status || statuses.includes(s))
                          : statuses.filter((s) => s !== status),
                      )
                    }
                  />
                  <span className={`badge-dot badge-dot-${status}`} aria-hidden="true" />
                  {RUN_STATUS_INFO[status].label}
                </label>
              ))}
            </fieldset>
          </Popover.Content>
        </Popover.Portal>
      </Popover.Root>
    </div>
  );
}
