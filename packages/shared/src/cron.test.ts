import { describe, expect, it } from 'vitest';
import { cronMatches, parseCron } from './cron.ts';

function schedule(expression: string) {
  const parsed = parseCron(expression);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.schedule;
}

describe('cronMatches', () => {
  it('fires at 02:00 on the wall clock of the schedule time zone, not UTC', () => {
    const daily = schedule('0 2 * * *');
    expect(cronMatches(daily, new Date('2024-07-01T01:00:00Z'), 'Europe/London')).toBe(true);
    expect(cronMatches(daily, new Date('2024-07-01T02:00:00Z'), 'Europe/London')).toBe(false);
    expect(cronMatches(daily, new Date('2024-07-01T02:00:00Z'), 'UTC')).toBe(true);
  });

  it('matches every minute within the minute, whatever the seconds', () => {
    expect(cronMatches(schedule('* * * * *'), new Date('2024-07-01T10:17:59Z'), 'UTC')).toBe(true);
  });

  it('reads steps, ranges, lists and names', () => {
    const weekdays = schedule('*/15 9-17 * * mon-fri');
    expect(cronMatches(weekdays, new Date('2024-07-01T09:45:00Z'), 'UTC')).toBe(true); // a Monday
    expect(cronMatches(weekdays, new Date('2024-07-01T09:50:00Z'), 'UTC')).toBe(false);
    expect(cronMatches(weekdays, new Date('2024-06-30T09:45:00Z'), 'UTC')).toBe(false); // a Sunday
    expect(cronMatches(schedule('0 0 1 jan,jul *'), new Date('2024-07-01T00:00:00Z'), 'UTC')).toBe(true);
    expect(cronMatches(schedule('5/20 * * * *'), new Date('2024-07-01T00:45:00Z'), 'UTC')).toBe(true);
  });

  it('treats 7 as Sunday and runs on either day when both day fields are restricted', () => {
    expect(cronMatches(schedule('0 0 * * 7'), new Date('2024-06-30T00:00:00Z'), 'UTC')).toBe(true);
    const either = schedule('0 0 13 * fri');
    expect(cronMatches(either, new Date('2024-07-13T00:00:00Z'), 'UTC')).toBe(true); // the 13th, a Saturday
    expect(cronMatches(either, new Date('2024-07-05T00:00:00Z'), 'UTC')).toBe(true); // a Friday
    expect(cronMatches(either, new Date('2024-07-06T00:00:00Z'), 'UTC')).toBe(false);
  });
});
