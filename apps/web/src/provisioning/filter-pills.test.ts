import type { RunListFilter } from '@provisioning/shared';
import { describe, expect, it } from 'vitest';
import { customRangeLabel, filterPills } from './filter-pills.ts';
import { DEFAULT_FILTER } from './run-filter-url.ts';

const CONFIGURATION = '0b9f6f7e-9d2a-4a8e-b7a4-1f2d3c4b5a69';
const names = (id: string) => (id === CONFIGURATION ? 'HR file' : undefined);

const everything: RunListFilter = {
  range: 'custom',
  from: '2024-01-01',
  to: '2024-01-31',
  sort: 'oldest',
  configurationId: CONFIGURATION,
  statuses: ['needs_attention', 'success'],
  sources: ['google-workspace', 'sftp'],
};

describe('filterPills', () => {
  it('shows no pill for the defaults', () => {
    expect(filterPills(DEFAULT_FILTER, names)).toEqual([]);
  });

  it('shows one pill per active filter, in the order of the controls, statuses and sources in display order', () => {
    expect(filterPills(everything, names).map((pill) => pill.label)).toEqual([
      '1 Jan 2024 – 31 Jan 2024',
      'Oldest first',
      'Source: SFTP Sync',
      'Source: Google Workspace',
      'Configuration: HR file',
      'Status: Success',
      'Status: Needs Attention',
    ]);
  });

  it('names the preset ranges as the control does', () => {
    expect(filterPills({ ...DEFAULT_FILTER, range: 'last7' }, names)[0]?.label).toBe('Last 7 Days');
    expect(filterPills({ ...DEFAULT_FILTER, range: 'last30' }, names)[0]?.label).toBe('Last 30 Days');
  });

  it('says so when the configuration is not one of the organisation’s', () => {
    const pills = filterPills(
      { ...DEFAULT_FILTER, configurationId: '5c1f9a4e-0000-4000-8000-000000000000' },
      names,
    );
    expect(pills[0]?.label).toBe('Configuration: unknown configuration');
  });

  it('removes exactly its own filter and leaves the others', () => {
    const pills = filterPills(everything, names);
    const byId = Object.fromEntries(pills.map((pill) => [pill.id, pill]));
    expect(byId.range?.remove(everything)).toEqual({
      ...everything,
      range: 'all',
      from: undefined,
      to: undefined,
    });
    expect(byId.sort?.remove(everything)).toEqual({ ...everything, sort: 'newest' });
    expect(byId.configuration?.remove(everything)).toEqual({ ...everything, configurationId: undefined });
    expect(byId['status-success']?.remove(everything)).toEqual({
      ...everything,
      statuses: ['needs_attention'],
    });
    expect(byId['source-sftp']?.remove(everything)).toEqual({ ...everything, sources: ['google-workspace'] });
  });

  it('removing every pill one after another gives the defaults', () => {
    let filter = everything;
    for (let pills = filterPills(filter, names); pills.length > 0; pills = filterPills(filter, names)) {
      filter = pills[0]!.remove(filter);
    }
    expect(filterPills(filter, names)).toEqual([]);
    expect({ ...filter, from: undefined, to: undefined, configurationId: undefined }).toEqual({
      ...DEFAULT_FILTER,
      from: undefined,
      to: undefined,
      configurationId: undefined,
    });
  });
});

describe('customRangeLabel', () => {
  it('shows one day once', () => {
    expect(customRangeLabel('2024-02-29', '2024-02-29')).toBe('29 Feb 2024');
  });
});
