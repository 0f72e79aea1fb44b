/** Display formats of the runs page: dates in the organisation's time zone, British English. */

const LOCALE = 'en-GB';

const dateTimeFormats = new Map<string, { time: Intl.DateTimeFormat; date: Intl.DateTimeFormat }>();

function formatsFor(timeZone: string) {
  let formats = dateTimeFormats.get(timeZone);
  if (!formats) {
    formats = {
      // h12, not hour12: with en-GB some ICU versions print the hour after midnight as 0:05 am.
      time: new Intl.DateTimeFormat(LOCALE, {
        timeZone,
        hour: 'numeric',
        minute: '2-digit',
        hourCycle: 'h12',
      }),
      date: new Intl.DateTimeFormat(LOCALE, { timeZone, day: 'numeric', month: 'short', year: 'numeric' }),
    };
    dateTimeFormats.set(timeZone, formats);
  }
  return formats;
}

/** `{ time: '10:30 pm', date: '15 Jan 2024' }` for an instant, in the organisation's time zone. */
export function formatDateTime(iso: string, timeZone: string): { time: string; date: string } {
  const instant = new Date(iso);
  const { time, date } = formatsFor(timeZone);
  return { time: time.format(instant), date: date.format(instant) };
}

const dayFormat = new Intl.DateTimeFormat(LOCALE, {
  timeZone: 'UTC',
  day: 'numeric',
  month: 'short',
  year: 'numeric',
});

/** A calendar day `YYYY-MM-DD` as `15 Jan 2024`; a day has no time zone, so none is applied. */
export function formatDay(day: string): string {
  return dayFormat.format(new Date(`${day}T00:00:00Z`));
}

/** `4s`, `2m 05s`, `1h 02m`: short enough for a table cell, exact enough to compare runs. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return 'under 1s';
  const totalSeconds = Math.floor(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h ${String(minutes).padStart(2, '0')}m`;
  if (minutes > 0) return `${minutes}m ${String(seconds).padStart(2, '0')}s`;
  return `${seconds}s`;
}

const countFormat = new Intl.NumberFormat(LOCALE);

export function formatCount(value: number): string {
  return countFormat.format(value);
}

/** A local calendar date (what the date picker hands back) as `YYYY-MM-DD`. */
export function toCalendarDay(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** `YYYY-MM-DD` as a local date at midnight (what the date picker expects). */
export function fromCalendarDay(day: string): Date {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  return new Date(year, month - 1, date);
}
