/**
 * Failed sign-ins counted per account (email) and per client address in fixed windows. After the limit,
 * further attempts are refused until the window ends, even with the right password: that is what stops a
 * password guesser. A success clears the account's count.
 *
 * Kept in this process's memory, bounded in size; with several API replicas each counts on its own, so
 * the effective limit is per replica.
 */
export interface LoginRateLimitOptions {
  windowMs?: number;
  maxFailuresPerAccount?: number;
  maxFailuresPerAddress?: number;
  /** Keys remembered at most; the oldest windows are forgotten first. */
  maxKeys?: number;
  now?: () => number;
}

interface Window {
  failures: number;
  endsAt: number;
}

export class LoginRateLimiter {
  readonly #windowMs: number;
  readonly #maxPerAccount: number;
  readonly #maxPerAddress: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();

  constructor(options: LoginRateLimitOptions = {}) {
    this.#windowMs = options.windowMs ?? 15 * 60 * 1000;
    this.#maxPerAccount = options.maxFailuresPerAccount ?? 5;
    this.#maxPerAddress = options.maxFailuresPerAddress ?? 30;
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** Keys remembered now (accounts and addresses). */
  get size(): number {
    return this.#windows.size;
  }

  /** Seconds until another attempt is allowed, or 0 when it is allowed now. */
  retryAfterSeconds(email: string, address: string): number {
    const now = this.#now();
    let wait = 0;
    for (const [key, max] of this.#keys(email, address)) {
      const window = this.#current(key, now);
      if (window && window.failures >= max) wait = Math.max(wait, window.endsAt - now);
    }
    return Math.ceil(wait / 1000);
  }

  recordFailure(email: string, address: string): void {
    const now = this.#now();
    for (const [key] of this.#keys(email, address)) {
      const window = this.#current(key, now) ?? { failures: 0, endsAt: now + this.#windowMs };
      window.failures += 1;
      this.#windows.delete(key);
      this.#windows.set(key, window);
    }
    while (this.#windows.size > this.#maxKeys) {
      const oldest = this.#windows.keys().next().value;
      if (oldest === undefined) break;
      this.#windows.delete(oldest);
    }
  }

  recordSuccess(email: string): void {
    this.#windows.delete(`account:${email.trim().toLowerCase()}`);
  }

  #keys(email: string, address: string): [string, number][] {
    return [
      [`account:${email.trim().toLowerCase()}`, this.#maxPerAccount],
      [`address:${address}`, this.#maxPerAddress],
    ];
  }

  #current(key: string, now: number): Window | undefined {
    const window = this.#windows.get(key);
    if (window && window.endsAt <= now) {
      this.#windows.delete(key);
      return undefined;
    }
    return window;
  }
}
