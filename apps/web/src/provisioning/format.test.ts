import { describe, expect, it } from 'vitest';
import { formatDay, fromCalendarDay, toCalendarDay } from './format.ts';

describe('formatDay', () => {
  it('shows a calendar day without shifting it by a time zone', () => {
    expect(formatDay('2024-01-01')).toBe('1 Jan 2024');
    expect(formatDay('2024-12-31')).toBe('31 Dec 2024');
  });
});

describe('calendar days', () => {
  it('turns a picked local date into YYYY-MM-DD and back', () => {
    const day = fromCalendarDay('2024-03-31');
    expect(day.getDate()).toBe(31);
    expect(toCalendarDay(day)).toBe('2024-03-31');
  });
});
