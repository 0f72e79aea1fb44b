// @vitest-environment happy-dom
import { act, cleanup, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useRunFilter } from './run-filter-state.ts';
import { DEFAULT_FILTER } from './run-filter-url.ts';

function visit(url: string) {
  window.history.replaceState(null, '', url);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

beforeEach(() => visit('/provisioning'));
afterEach(cleanup);

describe('useRunFilter: the runs filter held in the URL', () => {
  it('reads the filter from the URL the page was opened with (a bookmark, a reload)', () => {
    visit('/provisioning?range=last7&sort=oldest&status=success&status=cancelled&source=workday');
    const { result } = renderHook(() => useRunFilter());
    expect(result.current.filter).toEqual({
      range: 'last7',
      sort: 'oldest',
      statuses: ['success', 'cancelled'],
      sources: ['workday'],
    });
    expect(result.current.ignored).toEqual([]);
  });

  it('writes a changed filter to the URL as a new history entry, keeping the open run', () => {
    visit('/provisioning?run=abc');
    const { result } = renderHook(() => useRunFilter());
    const before = window.history.length;
    act(() => result.current.setFilter({ ...DEFAULT_FILTER, statuses: ['data_load_failed'] }));
    expect(window.location.search).toBe('?status=data_load_failed&run=abc');
    expect(window.history.length).toBe(before + 1);
    expect(result.current.filter.statuses).toEqual(['data_load_failed']);
  });

  it('writes chosen sources as repeated source parameters, in display order', () => {
    const { result } = renderHook(() => useRunFilter());
    act(() => result.current.setFilter({ ...DEFAULT_FILTER, sources: ['google-workspace', 'sftp'] }));
    expect(window.location.search).toBe('?source=sftp&source=google-workspace');
    expect(result.current.filter.sources).toEqual(['sftp', 'google-workspace']);
  });

  it('follows Back and Forward', () => {
    const { result } = renderHook(() => useRunFilter());
    act(() => result.current.setFilter({ ...DEFAULT_FILTER, range: 'last30' }));
    expect(result.current.filter.range).toBe('last30');
    act(() => visit('/provisioning'));
    expect(result.current.filter).toEqual(DEFAULT_FILTER);
  });

  it('clearing the filters leaves a clean URL', () => {
    visit('/provisioning?range=last7&status=queued');
    const { result } = renderHook(() => useRunFilter());
    act(() => result.current.setFilter(DEFAULT_FILTER));
    expect(window.location.search).toBe('');
  });

  it('corrects a URL with values it cannot use in place, and keeps the notice until dismissed', () => {
    visit('/provisioning?range=fortnight&status=success&status=bogus');
    const before = window.history.length;
    const { result } = renderHook(() => useRunFilter());
    expect(result.current.filter).toEqual({ ...DEFAULT_FILTER, statuses: ['success'] });
    expect(window.location.search).toBe('?status=success');
    expect(window.history.length).toBe(before);
    expect(result.current.ignored).toHaveLength(2);
    expect(result.current.ignored.join(' ')).toMatch(/Date range “fortnight” ignored/);
    expect(result.current.ignored.join(' ')).toMatch(/Status “bogus” ignored/);
    act(() => result.current.dismissIgnored());
    expect(result.current.ignored).toEqual([]);
  });
});
