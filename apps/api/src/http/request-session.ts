import { type EntityManager, findSession, type LiveSession } from '@provisioning/db';

/** The signed-in account as every procedure and download sees it (read fresh on each request), with its cookie token. */
export interface SessionInfo extends LiveSession {
  token: string;
}

/**
 * The session a cookie token names, as procedures and downloads see it, or null when it has ended. A
 * request extends the session's idle expiry; `extendIdle: false` looks without extending it.
 */
export async function loadSession(
  em: EntityManager,
  token: string | undefined,
  options: { extendIdle?: boolean } = {},
): Promise<SessionInfo | null> {
  if (!token) return null;
  const session = await findSession(em, token, options);
  return session ? { token, ...session } : null;
}

/**
 * The session a request's cookie names, read once, when a handler first needs it: by `load()`, or by a
 * hot read that checks it in its own message and reports what it found (`found`). A request that never
 * asks never reads it.
 */
export class RequestSession {
  readonly token: string | undefined;
  /** Null for a session already read (`of`). */
  readonly #em: EntityManager | null;
  #loading: Promise<SessionInfo | null> | undefined;
  /** What the read found; undefined until it is made. */
  #found: SessionInfo | null | undefined;

  constructor(em: EntityManager | null, token: string | undefined) {
    this.#em = em;
    this.token = token;
  }

  /** A session already read (sign-in's, the tests' callers). */
  static of(session: SessionInfo | null): RequestSession {
    const known = new RequestSession(null, session?.token);
    known.found(session);
    return known;
  }

  load(): Promise<SessionInfo | null> {
    const em = this.#em;
    this.#loading ??= (em ? loadSession(em, this.token) : Promise.resolve(null)).then((session) => {
      this.#found = session;
      return session;
    });
    return this.#loading;
  }

  /** Records the session a read found with its own check (`sessionScope`); later loads answer it. */
  found(session: LiveSession | null): SessionInfo | null {
    const info = session && this.token !== undefined ? { token: this.token, ...session } : null;
    this.#found = info;
    this.#loading = Promise.resolve(info);
    return info;
  }

  /** Whether the session has been read, by `load()` or by a checked read. */
  get read(): boolean {
    return this.#found !== undefined;
  }

  /** A cookie was sent, and reading it found no live session. */
  get ended(): boolean {
    return this.token !== undefined && this.#found === null;
  }
}
