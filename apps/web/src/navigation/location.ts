import { type MouseEvent, useSyncExternalStore } from 'react';

/**
 * The page's location, as a tiny client-side router: the admin panel has three places (home, User
 * Provisioning, a run's details as `?run=`), which do not need a routing library.
 */
export interface PageLocation {
  pathname: string;
  search: string;
}

const listeners = new Set<() => void>();
let snapshot: PageLocation = { pathname: '', search: '' };

/** The location now, as the same object while it has not changed (what useSyncExternalStore needs). */
function read(): PageLocation {
  const { pathname, search } = window.location;
  if (pathname !== snapshot.pathname || search !== snapshot.search) snapshot = { pathname, search };
  return snapshot;
}

function notify() {
  for (const listener of listeners) listener();
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  if (listeners.size === 1) window.addEventListener('popstate', notify);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) window.removeEventListener('popstate', notify);
  };
}

export function useLocation(): PageLocation {
  return useSyncExternalStore(subscribe, read);
}

/**
 * Goes to `href` (path and/or search) in the page. `replace` for changes that should not add a Back step
 * (a corrected URL); filters and opening a run push, so Back undoes them.
 */
export function navigate(href: string, options: { replace?: boolean } = {}) {
  const url = new URL(href, window.location.href);
  if (options.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  notify();
}

/** For plain `<a href>` links inside the page: a normal click navigates in place, a modified one opens a tab. */
export function handleLinkClick(event: MouseEvent<HTMLAnchorElement>) {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(event.currentTarget.href);
}
