import { describe, expect, it } from 'vitest';
import { formatDateTime, formatDuration } from './display-format.ts';

describe('formatDateTime', () => {
  it('shows the instant in the organisation’s time zone, not the browser’s', () => {
    expect(formatDateTime('2024-01-15T22:30:00Z', 'Europe/London')).toEqual({
      time: '10:30 pm',
      date: '15 Jan 2024',
    });
    expect(formatDateTime('2024-01-15T22:30:00Z', 'Asia/Tokyo')).toEqual({
      time: '7:30 am',
      date: '16 Jan 2024',
    });
    expect(formatDateTime('2024-07-01T12:00:00Z', 'America/New_York')).toEqual({
      time: '8:00 am',
      date: '1 Jul 2024',
    });
  });

  it('shows the hour after midnight and noon as 12', () => {
    expect(formatDateTime('2024-01-15T00:05:00Z', 'UTC').time).toBe('12:05 am');
    expect(formatDateTime('2024-01-15T12:05:00Z', 'UTC').time).toBe('12:05 pm');
  });
});

describe('formatDuration', () => {
  it('shows seconds, minutes and hours compactly', () => {
    expect(formatDuration(0)).toBe('under 1s');
    expect(formatDuration(999)).toBe('under 1s');
    expect(formatDuration(1_000)).toBe('1s');
    expect(formatDuration(4_999)).toBe('4s');
    expect(formatDuration(65_000)).toBe('1m 05s');
    expect(formatDuration(3_725_000)).toBe('1h 02m');
    expect(formatDuration(-50)).toBe('under 1s');
  });
});
