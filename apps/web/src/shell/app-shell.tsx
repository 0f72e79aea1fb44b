import { ROLE_LABELS } from '@provisioning/shared';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { errorMessage, type Me, useTRPC } from '../api/trpc.ts';
import { handleLinkClick, useLocation } from '../navigation/location.ts';

/** The admin panel around every page: the navigation, the organisation, the account and sign-out. */
export function AppShell({ me, children }: { me: Me; children: ReactNode }) {
  const { pathname } = useLocation();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const signOut = useMutation(
    trpc.auth.signOut.mutationOptions({
      onSuccess() {
        // Signed out shows the sign-in form, and the app forgets the rest of this account.
        queryClient.setQueryData(trpc.auth.me.queryKey(), null);
      },
    }),
  );
  const canView = me.access.viewProvisioning.allowed;
  const navLink = (href: string, label: string) => (
    <a href={href} onClick={handleLinkClick} aria-current={pathname === href ? 'page' : undefined}>
      {label}
    </a>
  );

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            B
          </span>
          <span className="brand-name">Admin panel</span>
          <span className="brand-org">{me.organisation.name}</span>
        </div>
        <div className="account">
          <div className="account-who">
            <span className="account-name">{me.account.name}</span>
            <span className="account-detail">
              {me.account.email} · {me.roles.map((role) => ROLE_LABELS[role]).join(', ')}
            </span>
          </div>
          <button
            type="button"
            className="button button-quiet"
            onClick={() => signOut.mutate()}
            disabled={signOut.isPending}
          >
            {signOut.isPending ? 'Signing out…' : 'Sign out'}
          </button>
          {signOut.isError && (
            <p role="alert" className="account-error">
              Sign-out failed: {errorMessage(signOut.error)}
            </p>
          )}
        </div>
      </header>
      <nav className="sidebar" aria-label="Admin panel">
        <ul className="nav-list">
          <li>{navLink('/', 'Home')}</li>
        </ul>
        {canView && (
          <>
            <h2 id="nav-blink-identity" className="nav-heading">
              Blink Identity
            </h2>
            <ul className="nav-list" aria-labelledby="nav-blink-identity">
              <li>{navLink('/provisioning', 'User Provisioning')}</li>
            </ul>
          </>
        )}
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
