// @vitest-environment happy-dom
import type { RunListFilter } from '@provisioning/shared';
import { cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigurationChoice } from '../api/trpc.ts';
import { DEFAULT_FILTER } from './run-filter-url.ts';
import { RunFilters } from './run-filters.tsx';

const CONFIGURATIONS: ConfigurationChoice[] = [
  { id: '00000000-0000-4000-8000-0000000000c1', name: 'HR file', connector: 'sftp', paused: false },
  {
    id: '00000000-0000-4000-8000-0000000000c2',
    name: 'Workday employees',
    connector: 'workday',
    paused: false,
  },
  {
    id: '00000000-0000-4000-8000-0000000000c3',
    name: 'Google staff',
    connector: 'google-workspace',
    paused: true,
  },
];

/** The filter bar as the page holds it: the filter lives in state that the controls change. */
function Harness({ initial }: { initial: RunListFilter }) {
  const [filter, setFilter] = useState(initial);
  return (
    <>
      <RunFilters filter={filter} configurations={CONFIGURATIONS} onChange={setFilter} />
      <output data-testid="filter">{JSON.stringify(filter)}</output>
    </>
  );
}

const currentFilter = (): RunListFilter => JSON.parse(screen.getByTestId('filter').textContent ?? '{}');
const sourceButton = () => screen.getByRole('button', { name: /^Source / });
const configurationNames = () =>
  within(screen.getByRole('combobox', { name: 'Configuration' }))
    .getAllByRole('option')
    .map((option) => option.textContent);

afterEach(cleanup);

describe('the Source filter', () => {
  it('offers every source by its name and says “Any source” while none is chosen', async () => {
    const user = userEvent.setup();
    render(<Harness initial={DEFAULT_FILTER} />);
    expect(sourceButton().textContent).toBe('Any source');
    await user.click(sourceButton());
    const group = screen.getByRole('group', { name: 'Show syncs from' });
    expect(
      within(group)
        .getAllByRole('checkbox')
        .map((box) => box.closest('label')?.textContent),
    ).toEqual(['SFTP Sync', 'Workday', 'Google Workspace']);
    for (const box of within(group).getAllByRole('checkbox'))
      expect((box as HTMLInputElement).checked).toBe(false);
  });

  it('chooses several sources, kept in display order, and names them on the button', async () => {
    const user = userEvent.setup();
    render(<Harness initial={DEFAULT_FILTER} />);
    await user.click(sourceButton());
    await user.click(screen.getByRole('checkbox', { name: 'Google Workspace' }));
    expect(currentFilter().sources).toEqual(['google-workspace']);
    expect(sourceButton().textContent).toBe('Google Workspace');
    await user.click(screen.getByRole('checkbox', { name: 'SFTP Sync' }));
    expect(currentFilter().sources).toEqual(['sftp', 'google-workspace']);
    expect(sourceButton().textContent).toBe('2 sources');
    await user.click(screen.getByRole('checkbox', { name: 'Google Workspace' }));
    expect(currentFilter()).toEqual({ ...DEFAULT_FILTER, sources: ['sftp'] });
  });

  it('shows a filter from the URL as checked boxes, and leaves the other filters alone', async () => {
    const user = userEvent.setup();
    const initial: RunListFilter = {
      ...DEFAULT_FILTER,
      range: 'last7',
      statuses: ['cancelled'],
      sources: ['workday'],
    };
    render(<Harness initial={initial} />);
    expect(sourceButton().textContent).toBe('Workday');
    await user.click(sourceButton());
    expect((screen.getByRole('checkbox', { name: 'Workday' }) as HTMLInputElement).checked).toBe(true);
    await user.click(screen.getByRole('checkbox', { name: 'Workday' }));
    expect(currentFilter()).toEqual({ ...initial, sources: [] });
  });

  it('lists only the chosen sources’ configurations, and a chosen one of another source', () => {
    const { unmount } = render(
      <Harness initial={{ ...DEFAULT_FILTER, sources: ['workday', 'google-workspace'] }} />,
    );
    expect(configurationNames()).toEqual([
      'All configurations',
      'Workday employees',
      'Google staff (paused)',
    ]);
    unmount();
    render(
      <Harness
        initial={{ ...DEFAULT_FILTER, sources: ['workday'], configurationId: CONFIGURATIONS[0]!.id }}
      />,
    );
    expect(configurationNames()).toEqual(['All configurations', 'HR file', 'Workday employees']);
  });

  it('works from the keyboard', async () => {
    const user = userEvent.setup();
    render(<Harness initial={DEFAULT_FILTER} />);
    sourceButton().focus();
    await user.keyboard('{Enter}');
    const first = screen.getByRole('checkbox', { name: 'SFTP Sync' });
    first.focus();
    await user.keyboard(' ');
    expect(currentFilter().sources).toEqual(['sftp']);
  });
});
