import { createHash } from 'node:crypto';
import {
  type CountedAttempt,
  deleteEndedAttemptWindows,
  type EntityManager,
  forgetAttempts,
  reserveAttempt,
  takeBackAttempt,
} from '@provisioning/db';

/**
 * Sign-in attempts counted per account (email) and per client address in fixed windows. After the limit,
 * further attempts are refused until the window ends, even with the right password: that is what stops a
 * password guesser. A success clears the account's count and does not count against the address.
 *
 * An attempt is counted before its password is checked, in PostgreSQL (sign-in-attempt.repository.ts):
 * parallel guesses cannot all pass a check made before any of them failed, and every API replica
 * counts against the same limits.
 */
export interface LoginRateLimitOptions {
  windowMs?: number;
  maxFailuresPerAccount?: number;
  maxFailuresPerAddress?: number;
  /** How often this process deletes ended windows, so the table holds only live counts. */
  cleanupIntervalMs?: number;
  now?: () => number;
}

export type SignInAttempt =
  | { allowed: true; counted: CountedAttempt[] }
  | { allowed: false; retryAfterSeconds: number };

export class LoginRateLimiter {
  readonly #windowMs: number;
  readonly #maxPerAccount: number;
  readonly #maxPerAddress: number;
  readonly #cleanupIntervalMs: number;
  readonly #now: () => number;
  #lastCleanup = Number.NEGATIVE_INFINITY;

  constructor(options: LoginRateLimitOptions = {}) {
    this.#windowMs = options.windowMs ?? 15 * 60 * 1000;
    this.#maxPerAccount = options.maxFailuresPerAccount ?? 5;
    this.#maxPerAddress = options.maxFailuresPerAddress ?? 30;
    this.#cleanupIntervalMs = options.cleanupIntervalMs ?? 60 * 1000;
    this.#now = options.now ?? Date.now;
  }

  /** Counts this attempt, before its password is checked; refused when a limit is already reached. */
  async attempt(em: EntityManager, email: string, address: string): Promise<SignInAttempt> {
    const now = new Date(this.#now());
    await this.#deleteEndedWindows(em, now);
    const reservation = await reserveAttempt(
      em,
      [
        { key: accountKey(email), max: this.#maxPerAccount },
        { key: addressKey(address), max: this.#maxPerAddress },
      ],
      this.#windowMs,
      now,
    );
    return reservation.allowed
      ? reservation
      : { allowed: false, retryAfterSeconds: Math.ceil(reservation.retryAfterMs / 1000) };
  }

  /** The password was right: the account starts afresh and the address is not charged for it. */
  async recordSuccess(em: EntityManager, email: string, counted: readonly CountedAttempt[]): Promise<void> {
    const account = accountKey(email);
    await forgetAttempts(em, [account]);
    await takeBackAttempt(
      em,
      counted.filter((attempt) => attempt.key !== account),
    );
  }

  async #deleteEndedWindows(em: EntityManager, now: Date): Promise<void> {
    if (now.getTime() - this.#lastCleanup < this.#cleanupIntervalMs) return;
    this.#lastCleanup = now.getTime();
    await deleteEndedAttemptWindows(em, now);
  }
}

function accountKey(email: string): string {
  // Hashed: the table is the API role's to write, and should not list who tries to sign in.
  return `account:${createHash('sha256').update(email.trim().toLowerCase()).digest('hex')}`;
}

function addressKey(address: string): string {
  return `address:${address}`;
}
