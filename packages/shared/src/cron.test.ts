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

  // Europe/London: on 2024-03-31 the clocks go from 01:00 GMT to 02:00 BST (01:00-01:59 never happens);
  // on 2024-10-27 from 02:00 BST back to 01:00 GMT (01:00-01:59 happens twice).
  const LONDON = 'Europe/London';
  /** The minutes (UTC) in which the schedule fires between `from` and `to`, minute by minute. */
  function firings(expression: string, from: string, to: string): string[] {
    const fired: string[] = [];
    for (let t = Date.parse(from); t <= Date.parse(to); t += 60_000) {
      if (cronMatches(schedule(expression), new Date(t), LONDON))
        fired.push(new Date(t).toISOString().slice(11, 16));
    }
    return fired;
  }

  it('runs a job set for a time the spring change skips once, when the clocks have gone forward', () => {
    // 01:30 London does not exist that day: the run comes at 02:00 BST (01:00 UTC), and only then.
    expect(firings('30 1 * * *', '2024-03-31T00:00:00Z', '2024-03-31T02:00:00Z')).toEqual(['01:00']);
    // The day before, 01:30 GMT is 01:30 UTC.
    expect(firings('30 1 * * *', '2024-03-30T01:00:00Z', '2024-03-30T02:00:00Z')).toEqual(['01:30']);
  });

  it('skips the minutes the spring change removes for a job that repeats within the hour', () => {
    // Every 30 minutes from 00:00 to 02:59 London: 00:00, 00:30 GMT, then 02:00, 02:30 BST; 01:xx is gone.
    expect(firings('*/30 0-2 * * *', '2024-03-31T00:00:00Z', '2024-03-31T02:00:00Z')).toEqual([
      '00:00',
      '00:30',
      '01:00',
      '01:30',
    ]);
  });

  it('runs a job set for a time the autumn change repeats once, in the first pass', () => {
    // 01:30 London happens at 00:30 UTC (BST) and again at 01:30 UTC (GMT).
    expect(firings('30 1 * * *', '2024-10-27T00:00:00Z', '2024-10-27T02:00:00Z')).toEqual(['00:30']);
  });

  it('runs a job that repeats within the hour in both passes of the repeated hour', () => {
    expect(firings('15 * * * *', '2024-10-27T00:00:00Z', '2024-10-27T02:00:00Z')).toEqual(['00:15', '01:15']);
  });
});
