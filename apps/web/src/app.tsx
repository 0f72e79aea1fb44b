import * as Tooltip from '@radix-ui/react-tooltip';
import { hashKey, useQuery, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useEffect } from 'react';
import { errorMessage, useTRPC } from './api/trpc.ts';
import { navigate, useLocation } from './navigation/location.ts';
import { ProvisioningPage } from './provisioning/provisioning-page.tsx';
import { AccessDenied } from './shell/access-denied.tsx';
import { AppShell } from './shell/app-shell.tsx';
import { HomePage } from './shell/home-page.tsx';
import { ServiceUnavailable } from './shell/service-unavailable.tsx';
import { SignInPage } from './shell/sign-in-page.tsx';
import { SLACK_LINK_PATH, SlackLinkPage } from './slack/slack-link-page.tsx';

export const PROVISIONING_PATH = '/provisioning';

/** Who is signed in decides everything else: the sign-in form, or the shell and the page at the URL. */
export function App() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const me = useQuery(trpc.auth.me.queryOptions());
  const { pathname, search } = useLocation();
  const canView = me.data?.access.viewProvisioning.allowed ?? false;
  const signedOut = me.data === null;

  useEffect(() => {
    // What the account may no longer see does not stay in memory, however access ended (the Sign out
    // button, a session revoked or expired, a role or organisation change reported by the live feed or
    // any call): signed out, everything but `auth.me` goes; refused, the runs and configurations.
    if (signedOut) {
      const meHash = hashKey(trpc.auth.me.queryKey());
      queryClient.removeQueries({ predicate: (query) => query.queryHash !== meHash });
    } else if (!canView && me.data) {
      queryClient.removeQueries({ queryKey: trpc.runs.pathKey() });
      queryClient.removeQueries({ queryKey: trpc.configurations.pathKey() });
    }
  }, [signedOut, canView, me.data, queryClient, trpc]);

  useEffect(() => {
    // The home page of an account that may view it is User Provisioning, the panel's one page so far.
    if (pathname === '/' && canView) navigate(PROVISIONING_PATH, { replace: true });
  }, [pathname, canView]);

  if (me.isPending) {
    return (
      <div className="app-loading" role="status">
        Loading the admin panel…
      </div>
    );
  }
  if (me.isError) return <ServiceUnavailable message={errorMessage(me.error)} onRetry={() => me.refetch()} />;
  if (me.data === null) return <SignInPage />;

  const access = me.data.access.viewProvisioning;
  let page: ReactNode;
  if (pathname === PROVISIONING_PATH) {
    page = access.allowed ? (
      <ProvisioningPage me={me.data} />
    ) : (
      <AccessDenied me={me.data} reason={access.reason} />
    );
  } else if (pathname === SLACK_LINK_PATH) {
    page = <SlackLinkPage me={me.data} code={new URLSearchParams(search).get('code')} />;
  } else if (pathname === '/') {
    page = <HomePage me={me.data} />;
  } else {
    page = (
      <section className="page" aria-labelledby="not-found-heading">
        <h1 id="not-found-heading">Page not found</h1>
        <p>There is no page at this address.</p>
      </section>
    );
  }
  return (
    <Tooltip.Provider delayDuration={250}>
      <AppShell me={me.data}>{page}</AppShell>
    </Tooltip.Provider>
  );
}
