/** Display formats shared by the admin page and the Slack messages: the organisation's time zone, British English. */

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

/** Sizes as a person reads them, in messages and on the page: 1536 → "1.5 KB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}
