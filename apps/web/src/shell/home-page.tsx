import type { Me } from '../api/trpc.ts';
import { handleLinkClick } from '../navigation/location.ts';

/** The landing page of an account with nothing more to see here yet; others go straight to their page. */
export function HomePage({ me }: { me: Me }) {
  return (
    <section className="page" aria-labelledby="page-heading">
      <h1 id="page-heading">Welcome, {me.account.name}</h1>
      <p>You are signed in to the admin panel of {me.organisation.name}.</p>
      {me.access.viewProvisioning.allowed ? (
        <p>
          <a href="/provisioning" onClick={handleLinkClick}>
            Go to User Provisioning
          </a>
        </p>
      ) : (
        <p className="muted">There are no admin pages for your role in this panel yet.</p>
      )}
    </section>
  );
}
