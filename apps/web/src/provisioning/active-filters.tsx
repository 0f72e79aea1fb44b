import type { RunListFilter } from '@provisioning/shared';
import { useEffect, useRef } from 'react';
import { filterPills } from './filter-pills.ts';
import { DEFAULT_FILTER } from './run-filter-url.ts';

/**
 * Each active filter as a pill button that removes it, and "Clear filters". After a removal, focus goes to
 * the pill that took the removed one's place (or the last one), and once none is left, wherever
 * `onEmptied` puts it, so keyboard users are never dropped at the top of the page.
 */
export function ActiveFilters({
  filter,
  configurationName,
  onChange,
  onEmptied,
}: {
  filter: RunListFilter;
  configurationName: (id: string) => string | undefined;
  onChange: (filter: RunListFilter) => void;
  onEmptied?: () => void;
}) {
  const pills = filterPills(filter, configurationName);
  const listRef = useRef<HTMLUListElement>(null);
  const focusIndex = useRef<number | null>(null);

  useEffect(() => {
    const index = focusIndex.current;
    if (index === null) return;
    focusIndex.current = null;
    const buttons = listRef.current?.querySelectorAll('button');
    if (!buttons || buttons.length === 0) {
      onEmptied?.();
      return;
    }
    buttons[Math.min(index, buttons.length - 1)]?.focus();
  });

  if (pills.length === 0) return null;
  return (
    <section className="active-filters" aria-label="Active filters">
      <ul className="pills" ref={listRef}>
        {pills.map((pill, index) => (
          <li key={pill.id}>
            <button
              type="button"
              className="pill"
              aria-label={`Remove filter: ${pill.label}`}
              onClick={() => {
                focusIndex.current = index;
                onChange(pill.remove(filter));
              }}
            >
              <span>{pill.label}</span>
              <span className="pill-remove" aria-hidden="true">
                ×
              </span>
            </button>
          </li>
        ))}
      </ul>
      <button
        type="button"
        className="button button-link"
        onClick={() => {
          focusIndex.current = 0;
          onChange(DEFAULT_FILTER);
        }}
      >
        Clear filters
      </button>
    </section>
  );
}
