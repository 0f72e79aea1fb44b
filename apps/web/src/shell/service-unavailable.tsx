import { useEffect, useState } from 'react';
import { READINESS_MESSAGES, type Readiness, readinessFromResponse } from '../readiness.ts';

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

/** The admin panel could not ask who is signed in: say what is down, and offer to try again. */
export function ServiceUnavailable({ message, onRetry }: { message: string; onRetry: () => void }) {
  const [readiness, setReadiness] = useState<Readiness>('checking');
  useEffect(() => {
    void checkReadiness().then(setReadiness);
  }, []);
  return (
    <main className="centered-page">
      <section className="card" aria-labelledby="unavailable-heading">
        <h1 id="unavailable-heading">The admin panel is unavailable</h1>
        <p role="alert">{message}</p>
        <p className="muted">{READINESS_MESSAGES[readiness]}</p>
        <button
          type="button"
          className="button button-primary"
          onClick={() => {
            setReadiness('checking');
            void checkReadiness().then(setReadiness);
            onRetry();
          }}
        >
          Try again
        </button>
      </section>
    </main>
  );
}
