import type { RunListFilter } from '@provisioning/shared';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { navigate, useLocation } from '../navigation/location.ts';
import { filterFromSearch, searchFromFilter } from './run-filter-url.ts';

/**
 * The runs filter held in the page URL, so a filtered view can be bookmarked, shared and reloaded. A URL
 * with values that do not parse is corrected in place (no extra Back step) and what was ignored is kept
 * for a notice until dismissed.
 */
export function useRunFilter() {
  const { pathname, search } = useLocation();
  const parsed = useMemo(() => filterFromSearch(search), [search]);
  const [ignored, setIgnored] = useState<string[]>([]);

  useEffect(() => {
    if (parsed.ignored.length === 0) return;
    setIgnored(parsed.ignored);
    navigate(`${pathname}${searchFromFilter(parsed.filter, search)}`, { replace: true });
  }, [parsed, pathname, search]);

  const setFilter = useCallback(
    (next: RunListFilter) => {
      navigate(`${pathname}${searchFromFilter(next, search)}`);
    },
    [pathname, search],
  );
  const dismissIgnored = useCallback(() => setIgnored([]), []);
  return { filter: parsed.filter, setFilter, ignored, dismissIgnored };
}
