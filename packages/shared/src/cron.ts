/** Five-field cron expressions: checked when a configuration is saved, matched by the worker's scheduler. */

const CRON_FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
] as const;
type CronField = (typeof CRON_FIELDS)[number];

function cronValue(token: string, field: CronField): number | null {
  if (/^\d{1,2}$/.test(token)) {
    const n = Number(token);
    return n >= field.min && n <= field.max ? n : null;
  }
  if ('names' in field) {
    const index = (field.names as readonly string[]).indexOf(token.toLowerCase());
    if (index >= 0) return index + (field.name === 'month' ? 1 : 0);
  }
  return null;
}

export interface CronSchedule {
  minutes: Set<number>;
  hours: Set<number>;
  daysOfMonth: Set<number>;
  months: Set<number>;
  /** 0 = Sunday (7 is folded into 0). */
  daysOfWeek: Set<number>;
  /** Standard cron: when both day fields are restricted, a day matching either runs. */
  dayOfMonthRestricted: boolean;
  dayOfWeekRestricted: boolean;
}

export type CronParse = { ok: true; schedule: CronSchedule } | { ok: false; problem: string };

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
  const sets: Set<number>[] = [];
  for (const [i, part] of parts.entries()) {
    const field = CRON_FIELDS[i] as CronField;
    const values = new Set<number>();
    for (const item of part.split(',')) {
      const match = /^([^/]+)(?:\/(\d{1,2}))?$/.exec(item);
      const range = match?.[1];
      const step = match?.[2] === undefined ? 1 : Number(match[2]);
      let from: number | null = field.min;
      let to: number | null = field.max;
      if (range !== '*' && range !== undefined) {
        const [a, b, ...rest] = range.split('-');
        from = a === undefined ? null : cronValue(a, field);
        to = b === undefined ? from : cronValue(b, field);
        if (rest.length > 0) from = null;
        // "5/15" means from 5 to the end of the range, every 15.
        if (b === undefined && match?.[2] !== undefined) to = field.max;
      }
      if (range === undefined || step <= 0 || from === null || to === null || from > to) {
        return {
          ok: false,
          problem: `Schedule ${field.name} "${item}" is not valid (allowed ${field.min}-${field.max})`,
        };
      }
      for (let v = from; v <= to; v += step) values.add(field.name === 'day of week' && v === 7 ? 0 : v);
    }
    sets.push(values);
  }
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = sets as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  return {
    ok: true,
    schedule: {
      minutes,
      hours,
      daysOfMonth,
      months,
      daysOfWeek,
      dayOfMonthRestricted: parts[2] !== '*',
      dayOfWeekRestricted: parts[4] !== '*',
    },
  };
}

/** Checks a five-field cron expression; returns a readable problem, or null when it is valid. */
export function cronProblem(expression: string): string | null {
  const parsed = parseCron(expression);
  return parsed.ok ? null : parsed.problem;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** Whether the schedule fires in the minute containing `at`, read on the wall clock of `timeZone`. */
export function cronMatches(schedule: CronSchedule, at: Date, timeZone: string): boolean {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      minute: 'numeric',
      hour: 'numeric',
      day: 'numeric',
      month: 'numeric',
      weekday: 'short',
    })
      .formatToParts(at)
      .map((part) => [part.type, part.value]),
  );
  const dayOfMonth = schedule.daysOfMonth.has(Number(parts.day));
  const dayOfWeek = schedule.daysOfWeek.has(WEEKDAYS.indexOf(parts.weekday ?? ''));
  const day =
    schedule.dayOfMonthRestricted && schedule.dayOfWeekRestricted
      ? dayOfMonth || dayOfWeek
      : dayOfMonth && dayOfWeek;
  return (
    schedule.minutes.has(Number(parts.minute)) &&
    schedule.hours.has(Number(parts.hour)) &&
    schedule.months.has(Number(parts.month)) &&
    day
  );
}
