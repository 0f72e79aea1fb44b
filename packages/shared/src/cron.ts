import { Cron, type CronOptions } from 'croner';

/**
 * Five-field cron expressions: checked when a configuration is saved, matched by the worker's scheduler.
 * croner reads and matches them, time zones and daylight-saving changes included; the checks here only
 * keep the language to standard five-field cron and name the field at fault in the message.
 */

const CRON_FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

/**
 * croner also reads Quartz-style extensions (`L`, `W`, `#`, `?`, `+`, nicknames, seconds and years).
 * Schedules stay standard cron: each comma-separated item is `*`, a number or a month or day name, or a
 * range of them, with an optional step. `5/20` (from 5, every 20) is standard in Vixie cron; croner
 * reads it only with `sloppyRanges`, whose other leniency (`/20` alone) this pattern already refuses.
 */
const CRON_ITEM = /^(?:\*|(?:\d{1,2}|[a-z]{3})(?:-(?:\d{1,2}|[a-z]{3}))?)(?:\/\d{1,2})?$/i;

const CRONER_OPTIONS = {
  mode: '5-part',
  sloppyRanges: true,
  // Standard cron: when both day fields are restricted, a day matching either runs.
  domAndDow: false,
} as const satisfies CronOptions;

/** A checked schedule, as croner reads it. */
export interface CronSchedule {
  expression: string;
}

export type CronParse = { ok: true; schedule: CronSchedule } | { ok: false; problem: string };

function cronerAccepts(expression: string): boolean {
  try {
    new Cron(expression, { ...CRONER_OPTIONS });
    return true;
  } catch {
    return false;
  }
}

export function parseCron(expression: string): CronParse {
  const parts = expression.trim().split(/\s+/);
  if (parts.length === 1 && parts[0] === '') {
    return {
      ok: false,
      problem:
        'Schedule is empty: give 5 fields (minute hour day-of-month month day-of-week), e.g. "0 2 * * *" for 02:00 daily',
    };
  }
  if (parts.length !== 5) {
    return {
      ok: false,
      problem: `Schedule must have 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}: e.g. "0 2 * * *" for 02:00 daily`,
    };
  }
  const items = parts.map((part) => part.split(','));
  if (items.every((list) => list.every((item) => CRON_ITEM.test(item))) && cronerAccepts(parts.join(' '))) {
    return { ok: true, schedule: { expression: parts.join(' ') } };
  }
  // croner's messages name neither the field as a person knows it nor the item at fault: each item is
  // checked alone, every other field a wildcard, so the message can name both.
  for (const [i, list] of items.entries()) {
    for (const item of list) {
      const alone = parts.map((_, j) => (j === i ? item : '*')).join(' ');
      if (!CRON_ITEM.test(item) || !cronerAccepts(alone)) {
        const field = CRON_FIELDS[i] as (typeof CRON_FIELDS)[number];
        return {
          ok: false,
          problem: `Schedule ${field.name} "${item}" is not valid (allowed ${field.min}-${field.max})`,
        };
      }
    }
  }
  // Every item passes alone but croner refuses them together: no such case is known; say so plainly.
  return { ok: false, problem: `Schedule "${parts.join(' ')}" is not valid` };
}

/** Checks a five-field cron expression; returns a readable problem, or null when it is valid. */
export function cronProblem(expression: string): string | null {
  const parsed = parseCron(expression);
  return parsed.ok ? null : parsed.problem;
}

/**
 * Whether the schedule fires in the minute containing `at`, read on the wall clock of `timeZone`.
 * Daylight-saving changes follow Vixie cron, as croner does: a job at one fixed time that falls in the
 * hour skipped in spring runs when the clocks have gone forward, and once, at the first pass, in the hour
 * repeated in autumn; a job that repeats within the hour (`*`, steps, ranges, lists) skips the missing
 * minutes and runs in both passes of the repeated ones.
 */
export function cronMatches(schedule: CronSchedule, at: Date, timeZone: string): boolean {
  const minute = Math.floor(at.getTime() / 60_000) * 60_000;
  const next = new Cron(schedule.expression, { ...CRONER_OPTIONS, timezone: timeZone }).nextRun(
    new Date(minute - 1),
  );
  return next?.getTime() === minute;
}
