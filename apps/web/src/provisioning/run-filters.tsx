import {
  CONNECTOR_LABELS,
  CONNECTORS,
  RUN_DATE_RANGES,
  RUN_SORTS,
  RUN_STATUS_INFO,
  RUN_STATUSES,
  type RunListFilter,
} from '@provisioning/shared';
import * as Popover from '@radix-ui/react-popover';
import { lazy, type ReactNode, Suspense, useRef, useState } from 'react';
import type { ConfigurationChoice } from '../api/trpc.ts';
import { ConnectorLabel } from './connector-icon.tsx';
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
      <MultiSelectFilter
        id="filter-source"
        label="Source"
        legend="Show syncs from"
        options={CONNECTORS}
        selected={filter.sources}
        nouns={['source', 'sources']}
        labelOf={(source) => CONNECTOR_LABELS[source]}
        renderOption={(source) => <ConnectorLabel connector={source} />}
        onChange={(sources) => onChange({ ...filter, sources })}
      />
      <div className="filter-field">
        <label htmlFor="filter-configuration">Configuration</label>
        <select
          id="filter-configuration"
          value={filter.configurationId ?? ''}
          onChange={(event) => onChange({ ...filter, configurationId: event.target.value || undefined })}
        >
          <option value="">All configurations</option>
          {/* Only the chosen sources' configurations, and the chosen one whatever its source. */}
          {configurations
            ?.filter(
              (c) =>
                filter.sources.length === 0 ||
                filter.sources.includes(c.connector) ||
                c.id === filter.configurationId,
            )
            .map((configuration) => (
              <option key={configuration.id} value={configuration.id}>
                {/* Paused: its schedule queues no runs until support resumes it. */}
                {configuration.paused ? `${configuration.name} (paused)` : configuration.name}
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
      <MultiSelectFilter
        id="filter-status"
        label="Status"
        legend="Show runs that are"
        options={RUN_STATUSES}
        selected={filter.statuses}
        nouns={['status', 'statuses']}
        labelOf={(status) => RUN_STATUS_INFO[status].label}
        renderOption={(status) => (
          <>
            <span className={`badge-dot badge-dot-${status}`} aria-hidden="true" />
            {RUN_STATUS_INFO[status].label}
          </>
        )}
        onChange={(statuses) => onChange({ ...filter, statuses })}
      />
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

/**
 * A filter of several values as a button that opens a list of checkboxes; none checked is no filter. The
 * values stay in the options' order, whatever order they were checked in.
 */
function MultiSelectFilter<T extends string>({
  id,
  label,
  legend,
  options,
  selected,
  nouns: [singular, plural],
  labelOf,
  renderOption,
  onChange,
}: {
  id: string;
  label: string;
  legend: string;
  options: readonly T[];
  selected: T[];
  /** What one value is and what several are, for the button: "Any source", "2 sources". */
  nouns: [string, string];
  labelOf: (option: T) => string;
  renderOption: (option: T) => ReactNode;
  onChange: (selected: T[]) => void;
}) {
  const [only] = selected;
  const summary =
    selected.length === 0
      ? `Any ${singular}`
      : selected.length === 1 && only !== undefined
        ? labelOf(only)
        : `${selected.length} ${plural}`;
  return (
    <div className="filter-field">
      <span className="label" id={`${id}-label`}>
        {label}
      </span>
      <Popover.Root>
        <Popover.Trigger asChild>
          <button type="button" id={id} className="select-button" aria-labelledby={`${id}-label ${id}`}>
            {summary}
            <svg className="chevron" viewBox="0 0 12 12" aria-hidden="true" focusable="false">
              <path d="M3 4.5l3 3 3-3" fill="none" stroke="currentColor" strokeWidth="1.5" />
            </svg>
          </button>
        </Popover.Trigger>
        <Popover.Portal>
          <Popover.Content className="popover" align="start" sideOffset={6} collisionPadding={8}>
            <fieldset className="status-options">
              <legend>{legend}</legend>
              {options.map((option) => (
                <label key={option} className="checkbox">
                  <input
                    type="checkbox"
                    checked={selected.includes(option)}
                    onChange={(event) =>
                      onChange(
                        event.target.checked
                          ? options.filter((o) => o === option || selected.includes(o))
                          : selected.filter((o) => o !== option),
                      )
                    }
                  />
                  {renderOption(option)}
                </label>
              ))}
            </fieldset>
          </Popover.Content>
        </Popover.Portal>
      </Popover.Root>
    </div>
  );
}
