// @vitest-environment happy-dom
import type { RunListFilter } from '@provisioning/shared';
import { act, cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ActiveFilters } from './active-filters.tsx';
import { DEFAULT_FILTER } from './run-filter-url.ts';

const CONFIGURATION = '0b9f6f7e-9d2a-4a8e-b7a4-1f2d3c4b5a69';
const names = (id: string) => (id === CONFIGURATION ? 'HR file' : undefined);

const everything: RunListFilter = {
  range: 'last30',
  sort: 'oldest',
  configurationId: CONFIGURATION,
  statuses: ['success', 'data_load_failed'],
  sources: ['workday'],
};

/** The pills as the page holds them: the filter lives in state that the pills change. */
function Harness({ initial, onEmptied }: { initial: RunListFilter; onEmptied?: () => void }) {
  const [filter, setFilter] = useState(initial);
  return (
    <>
      <ActiveFilters filter={filter} configurationName={names} onChange={setFilter} onEmptied={onEmptied} />
      <output data-testid="filter">{JSON.stringify(filter)}</output>
    </>
  );
}

const currentFilter = () => JSON.parse(screen.getByTestId('filter').textContent ?? '{}');
const pillNames = () =>
  screen
    .queryAllByRole('button', { name: /^Remove filter: / })
    .map((button) => button.getAttribute('aria-label'));

afterEach(cleanup);

describe('ActiveFilters', () => {
  it('shows nothing when no filter is active', () => {
    render(<Harness initial={DEFAULT_FILTER} />);
    expect(screen.queryByRole('region', { name: 'Active filters' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Clear filters' })).toBeNull();
  });

  it('labels each pill as a button that removes its filter, in the order of the controls', () => {
    render(<Harness initial={everything} />);
    expect(screen.getByRole('region', { name: 'Active filters' })).toBeTruthy();
    expect(pillNames()).toEqual([
      'Remove filter: Last 30 Days',
      'Remove filter: Oldest first',
      'Remove filter: Source: Workday',
      'Remove filter: Configuration: HR file',
      'Remove filter: Status: Success',
      'Remove filter: Status: Data Load Failed',
    ]);
  });

  it('removes only the clicked filter', async () => {
    const user = userEvent.setup();
    render(<Harness initial={everything} />);
    await user.click(screen.getByRole('button', { name: 'Remove filter: Status: Success' }));
    expect(currentFilter()).toEqual({ ...everything, statuses: ['data_load_failed'] });
    await user.click(screen.getByRole('button', { name: 'Remove filter: Configuration: HR file' }));
    expect(currentFilter()).toEqual({
      range: 'last30',
      sort: 'oldest',
      statuses: ['data_load_failed'],
      sources: ['workday'],
    });
    await user.click(screen.getByRole('button', { name: 'Remove filter: Source: Workday' }));
    expect(currentFilter()).toEqual({
      range: 'last30',
      sort: 'oldest',
      statuses: ['data_load_failed'],
      sources: [],
    });
  });

  it('clears every filter at once', async () => {
    const user = userEvent.setup();
    render(<Harness initial={everything} />);
    await user.click(screen.getByRole('button', { name: 'Clear filters' }));
    expect(currentFilter()).toEqual(DEFAULT_FILTER);
    expect(pillNames()).toEqual([]);
  });

  it('works from the keyboard and keeps focus on the pill that takes the removed one’s place', async () => {
    const user = userEvent.setup();
    render(<Harness initial={everything} />);
    screen.getByRole('button', { name: 'Remove filter: Oldest first' }).focus();
    await user.keyboard('{Enter}');
    expect(currentFilter().sort).toBe('newest');
    expect(document.activeElement?.getAttribute('aria-label')).toBe('Remove filter: Source: Workday');
    await user.keyboard(' ');
    expect(currentFilter().sources).toEqual([]);
    expect(document.activeElement?.getAttribute('aria-label')).toBe('Remove filter: Configuration: HR file');
  });

  it('hands focus on when the last pill goes', async () => {
    const user = userEvent.setup();
    const onEmptied = vi.fn();
    render(<Harness initial={{ ...DEFAULT_FILTER, range: 'last7' }} onEmptied={onEmptied} />);
    await user.click(screen.getByRole('button', { name: 'Remove filter: Last 7 Days' }));
    expect(pillNames()).toEqual([]);
    expect(onEmptied).toHaveBeenCalledTimes(1);
  });

  it('follows a filter changed elsewhere (the URL, the controls)', () => {
    const { rerender } = render(
      <ActiveFilters filter={DEFAULT_FILTER} configurationName={names} onChange={() => {}} />,
    );
    act(() => {
      rerender(
        <ActiveFilters
          filter={{ ...DEFAULT_FILTER, statuses: ['queued'] }}
          configurationName={names}
          onChange={() => {}}
        />,
      );
    });
    expect(pillNames()).toEqual(['Remove filter: Status: Queued']);
  });
});
