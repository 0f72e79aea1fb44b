import type { RunListFilter } from '@provisioning/shared';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FILTER, filterFromSearch, hasActiveFilters, searchFromFilter } from './run-filter-url.ts';

const CONFIGURATION = '0b9f6f7e-9d2a-4a8e-b7a4-1f2d3c4b5a69';

describe('filterFromSearch', () => {
  it('reads no parameters as the defaults: All Time, newest first, any source, configuration or status', () => {
    expect(filterFromSearch('')).toEqual({ filter: DEFAULT_FILTER, ignored: [] });
    expect(DEFAULT_FILTER).toEqual({ range: 'all', sort: 'newest', statuses: [], sources: [] });
  });

  it('reads every filter from its parameter, statuses and sources repeated', () => {
    const parsed = filterFromSearch(
      `?range=custom&from=2024-01-01&to=2024-01-31&sort=oldest&configuration=${CONFIGURATION}&status=success&status=needs_attention&source=workday&source=sftp`,
    );
    expect(parsed).toEqual({
      filter: {
        range: 'custom',
        from: '2024-01-01',
        to: '2024-01-31',
        sort: 'oldest',
        configurationId: CONFIGURATION,
        statuses: ['success', 'needs_attention'],
        sources: ['workday', 'sftp'],
      },
      ignored: [],
    });
  });

  it('ignores parameters that are not filters, such as the open run', () => {
    expect(filterFromSearch('?run=abc&utm_source=mail&range=last7')).toEqual({
      filter: { ...DEFAULT_FILTER, range: 'last7' },
      ignored: [],
    });
  });

  it('drops an unknown status and keeps the valid ones, saying which it dropped', () => {
    const parsed = filterFromSearch('?status=success&status=exploded&status=queued');
    expect(parsed.filter.statuses).toEqual(['success', 'queued']);
    expect(parsed.ignored).toHaveLength(1);
    expect(parsed.ignored[0]).toBe('Status “exploded” ignored: it is not a run status.');
  });

  it('drops an unknown range, sort or configuration on its own and keeps the rest', () => {
    const parsed = filterFromSearch('?range=fortnight&sort=sideways&configuration=42&status=success');
    expect(parsed.filter).toEqual({ ...DEFAULT_FILTER, statuses: ['success'] });
    expect(parsed.ignored).toHaveLength(3);
    expect(parsed.ignored).toEqual([
      'Date range “fortnight” ignored: the choices are All Time, Last 7 Days, Last 30 Days and Custom.',
      'Sort order “sideways” ignored: the choices are Newest first and Oldest first.',
      'Configuration “42” ignored: it is not a configuration ID.',
    ]);
  });

  it('falls back to All Time when a custom range lacks a day, has an impossible one, or ends before it starts', () => {
    for (const search of [
      '?range=custom&from=2024-01-01',
      '?range=custom&from=2024-02-30&to=2024-03-01',
      '?range=custom&from=2024-03-02&to=2024-03-01',
    ]) {
      const parsed = filterFromSearch(`${search}&sort=oldest`);
      expect(parsed.filter, search).toEqual({ ...DEFAULT_FILTER, sort: 'oldest' });
      expect(parsed.ignored.length, search).toBeGreaterThan(0);
      expect(parsed.ignored[0], search).toMatch(
        /^Custom date range ignored: (Choose the last day|".*" is not a date|The last day must not be before)/,
      );
    }
  });

  it('drops days given without a custom range', () => {
    const parsed = filterFromSearch('?range=last7&from=2024-01-01');
    expect(parsed.filter).toEqual({ ...DEFAULT_FILTER, range: 'last7' });
    expect(parsed.ignored[0]).toMatch(/^First day “2024-01-01” ignored/);
  });

  it('drops an unknown source and keeps the valid ones, naming the choices', () => {
    const parsed = filterFromSearch('?source=workday&source=bamboohr&source=google-workspace');
    expect(parsed.filter.sources).toEqual(['workday', 'google-workspace']);
    expect(parsed.ignored).toEqual([
      'Source “bamboohr” ignored: the choices are SFTP Sync, Workday and Google Workspace.',
    ]);
  });

  it('reads a source given twice once', () => {
    expect(filterFromSearch('?source=sftp&source=sftp').filter.sources).toEqual(['sftp']);
  });

  it('quotes a long bad value cut short, and drops a list too long to be real whole', () => {
    const long = filterFromSearch(`?source=${'x'.repeat(5000)}&status=success`);
    expect(long.filter).toEqual({ ...DEFAULT_FILTER, statuses: ['success'] });
    expect(long.ignored).toEqual([
      `Source “${'x'.repeat(40)}…” ignored: the choices are SFTP Sync, Workday and Google Workspace.`,
    ]);
    const many = filterFromSearch(`?${'source=sftp&'.repeat(1000)}range=last7`);
    expect(many.filter).toEqual({ ...DEFAULT_FILTER, range: 'last7' });
    expect(many.ignored).toEqual(['Sources ignored: Too many sources.']);
  });

  it('reads a status given twice once', () => {
    expect(filterFromSearch('?status=success&status=success').filter.statuses).toEqual(['success']);
  });
});

describe('searchFromFilter', () => {
  it('writes nothing for the defaults', () => {
    expect(searchFromFilter(DEFAULT_FILTER)).toBe('');
  });

  it('writes only what differs from the defaults, in one order, statuses and sources in display order', () => {
    const filter: RunListFilter = {
      range: 'custom',
      from: '2024-01-01',
      to: '2024-01-31',
      sort: 'oldest',
      configurationId: CONFIGURATION,
      statuses: ['needs_attention', 'success'],
      sources: ['google-workspace', 'sftp'],
    };
    expect(searchFromFilter(filter)).toBe(
      `?range=custom&from=2024-01-01&to=2024-01-31&sort=oldest&configuration=${CONFIGURATION}&status=success&status=needs_attention&source=sftp&source=google-workspace`,
    );
  });

  it('leaves out days unless the range is custom', () => {
    expect(
      searchFromFilter({ ...DEFAULT_FILTER, range: 'last30', from: '2024-01-01', to: '2024-01-02' }),
    ).toBe('?range=last30');
  });

  it('keeps parameters that are not filters and replaces the filter ones', () => {
    expect(searchFromFilter({ ...DEFAULT_FILTER, range: 'last7' }, '?status=queued&run=abc')).toBe(
      '?range=last7&run=abc',
    );
  });

  it('round-trips: the URL of a parsed filter parses back to the same filter', () => {
    const filters: RunListFilter[] = [
      DEFAULT_FILTER,
      { ...DEFAULT_FILTER, range: 'last7' },
      { ...DEFAULT_FILTER, sort: 'oldest', statuses: ['cancelled', 'queued', 'data_load_failed'] },
      { range: 'custom', from: '2023-12-31', to: '2024-01-01', sort: 'newest', statuses: [], sources: [] },
      { ...DEFAULT_FILTER, configurationId: CONFIGURATION },
      { ...DEFAULT_FILTER, sources: ['google-workspace', 'workday'], statuses: ['success'] },
    ];
    for (const filter of filters) {
      const { filter: parsed, ignored } = filterFromSearch(searchFromFilter(filter));
      expect(ignored).toEqual([]);
      expect(parsed).toEqual({
        ...filter,
        statuses: expect.arrayContaining(filter.statuses),
        sources: expect.arrayContaining(filter.sources),
      });
      expect(searchFromFilter(parsed)).toBe(searchFromFilter(filter));
    }
  });
});

describe('hasActiveFilters', () => {
  it('is false for the defaults and true once anything differs, sort included', () => {
    expect(hasActiveFilters(DEFAULT_FILTER)).toBe(false);
    expect(hasActiveFilters({ ...DEFAULT_FILTER, sort: 'oldest' })).toBe(true);
    expect(hasActiveFilters({ ...DEFAULT_FILTER, statuses: ['success'] })).toBe(true);
    expect(hasActiveFilters({ ...DEFAULT_FILTER, sources: ['workday'] })).toBe(true);
  });
});
