import type { EntityManager } from '@mikro-orm/postgresql';
import { sql } from './common.ts';

/** A key to count one attempt under, and how many attempts its window allows. */
export interface AttemptLimit {
  key: string;
  max: number;
}

/** The window an allowed attempt was counted in, so a success can take it back from that window only. */
export interface CountedAttempt {
  key: string;
  windowEndsAt: Date;
}

export type AttemptReservation =
  | { allowed: true; counted: CountedAttempt[] }
  | { allowed: false; retryAfterMs: number };

interface CountRow {
  key: string;
  attempts: number;
  window_ends_at: Date;
}

/**
 * Counts one attempt under every key at once, before the attempt is made, and says whether it is allowed.
 *
 * One `insert ... on conflict do update ... returning` per attempt: PostgreSQL serialises concurrent
 * upserts of a key on its row, so of N parallel attempts exactly `max` see a count within the limit, on
 * every API replica alike. No transaction is held, so it also runs on the embedded database's single
 * backend. Keys are always given in the same order (account, then address): two attempts never lock
 * rows in opposite orders.
 *
 * A refused attempt is taken back: only attempts that were allowed count, as before.
 */
export async function reserveAttempt(
  em: EntityManager,
  limits: readonly AttemptLimit[],
  windowMs: number,
  now: Date,
): Promise<AttemptReservation> {
  const windowEndsAt = new Date(now.getTime() + windowMs);
  const rows = await sql<CountRow>(
    em,
    `insert into "sign_in_attempt" ("key", "attempts", "window_ends_at")
     values ${limits.map(() => '(?, 1, ?::timestamptz)').join(', ')}
     on conflict ("key") do update set
       "attempts" = case when "sign_in_attempt"."window_ends_at" <= ?::timestamptz then 1
                         else "sign_in_attempt"."attempts" + 1 end,
       "window_ends_at" = case when "sign_in_attempt"."window_ends_at" <= ?::timestamptz
                               then excluded."window_ends_at" else "sign_in_attempt"."window_ends_at" end
     returning "key", "attempts", "window_ends_at"`,
    [...limits.flatMap((limit) => [limit.key, windowEndsAt]), now, now],
  );
  const counted = rows.map((row) => ({ key: row.key, windowEndsAt: new Date(row.window_ends_at) }));
  let retryAfterMs = 0;
  for (const row of rows) {
    const limit = limits.find((candidate) => candidate.key === row.key);
    if (limit && row.attempts > limit.max) {
      retryAfterMs = Math.max(retryAfterMs, new Date(row.window_ends_at).getTime() - now.getTime(), 1);
    }
  }
  if (retryAfterMs === 0) return { allowed: true, counted };
  await takeBackAttempt(em, counted);
  return { allowed: false, retryAfterMs };
}

/** Uncounts an attempt in the windows it was counted in (a window that has since restarted is left alone). */
export async function takeBackAttempt(em: EntityManager, counted: readonly CountedAttempt[]): Promise<void> {
  if (counted.length === 0) return;
  await sql(
    em,
    `update "sign_in_attempt" as a set "attempts" = a."attempts" - 1
     from (values ${counted.map(() => '(?, ?::timestamptz)').join(', ')}) as c ("key", "window_ends_at")
     where a."key" = c."key" and a."window_ends_at" = c."window_ends_at" and a."attempts" > 0`,
    counted.flatMap((attempt) => [attempt.key, attempt.windowEndsAt]),
  );
}

/** Forgets every attempt counted under these keys (an account that has just signed in). */
export async function forgetAttempts(em: EntityManager, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await sql(em, `delete from "sign_in_attempt" where "key" = any(?::text[])`, [keys]);
}

/** Deletes windows that have ended: their counts no longer limit anything. */
export async function deleteEndedAttemptWindows(em: EntityManager, now: Date): Promise<number> {
  const rows = await sql<{ key: string }>(
    em,
    `delete from "sign_in_attempt" where "window_ends_at" <= ?::timestamptz returning "key"`,
    [now],
  );
  return rows.length;
}
