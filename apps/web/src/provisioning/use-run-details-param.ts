import { useCallback } from 'react';
import { navigate, useLocation } from '../navigation/location.ts';

/** The URL parameter of the run whose details are open. */
const RUN_PARAM = 'run';

/**
 * The run whose details drawer is open, kept in the URL (`?run=<id>`) so that a link or a reload reopens
 * it: the open run's ID, the link that opens a run, and closing.
 */
export function useRunDetailsParam() {
  const { pathname, search } = useLocation();
  const openRunId = new URLSearchParams(search).get(RUN_PARAM);
  const detailsHref = useCallback(
    (runId: string) => {
      const params = new URLSearchParams(search);
      params.set(RUN_PARAM, runId);
      return `${pathname}?${params}`;
    },
    [pathname, search],
  );
  const closeDetails = useCallback(() => {
    // Read at the time of closing: the filters may have changed the URL since the drawer opened.
    const params = new URLSearchParams(window.location.search);
    params.delete(RUN_PARAM);
    const rest = params.toString();
    navigate(`${window.location.pathname}${rest ? `?${rest}` : ''}`);
  }, []);
  return { openRunId, detailsHref, closeDetails };
}
