import { useCallback, useEffect, useState } from 'react';
import { READINESS_MESSAGES, type Readiness, readinessFromResponse } from './readiness.ts';

const CHECK_EVERY_MS = 10_000;
const CHECK_TIMEOUT_MS = 5_000;

async function checkReadiness(): Promise<Readiness> {
  try {
    const response = await fetch('/readyz', { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
    const body: unknown = await response.json().catch(() => undefined);
    return readinessFromResponse(response.status, body);
  } catch {
    return readinessFromResponse(null, undefined);
  }
}

function useReadiness() {
  const [readiness, setReadiness] = useState<Readiness>('checking');
  const refresh = useCallback(() => {
    checkReadiness().then(setReadiness);
  }, []);
  useEffect(() => {
    refresh();
    const timer = setInterval(refresh, CHECK_EVERY_MS);
    return () => clearInterval(timer);
  }, [refresh]);
  return { readiness, refresh };
}

/** Renders `backticked` parts of a message as code. */
function withCode(message: string) {
  return message.split('`').map((part, index) => (index % 2 === 1 ? <code key={part}>{part}</code> : part));
}

export function App() {
  const { readiness, refresh } = useReadiness();
  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">Admin panel</span>
      </header>
      <nav className="sidebar" aria-labelledby="nav-heading">
        <h2 id="nav-heading" className="nav-heading">
          Blink Identity
        </h2>
        <ul>
          <li>
            <a href="/" aria-current="page">
              User Provisioning
            </a>
          </li>
        </ul>
      </nav>
      <main className="content">
        <h1>User Provisioning</h1>
        <section aria-labelledby="status-heading" className="card">
          <h2 id="status-heading">Service status</h2>
          <p role="status" className={`status status-${readiness}`}>
            {withCode(READINESS_MESSAGES[readiness])}
          </p>
          <button type="button" onClick={refresh}>
            Check again
          </button>
        </section>
        <p className="note">
          Sign-in arrives with the API; sync runs will be listed here once you are signed in.
        </p>
      </main>
    </div>
  );
}
