import { describe, expect, it } from 'vitest';
import { median, percentile, time } from './timing.ts';

describe('percentile', () => {
  it('takes the nearest rank of the sorted samples, whatever their order', () => {
    const samples = [9, 1, 10, 4, 2, 8, 3, 7, 5, 6];
    expect(percentile(samples, 50)).toBe(5);
    expect(percentile(samples, 95)).toBe(10);
    expect(percentile(samples, 99)).toBe(10);
    expect(percentile(samples, 10)).toBe(1);
  });

  it('clamps p outside 0–100 to the smallest and largest sample', () => {
    expect(percentile([3, 1, 2], 0)).toBe(1);
    expect(percentile([3, 1, 2], 150)).toBe(3);
  });

  it('is NaN without samples and leaves the samples unsorted', () => {
    expect(percentile([], 99)).toBeNaN();
    const samples = [3, 1, 2];
    percentile(samples, 50);
    expect(samples).toEqual([3, 1, 2]);
  });
});

describe('median', () => {
  it('is the middle value, the upper one of an even count', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(3);
    expect(median([])).toBeNaN();
  });
});

describe('time', () => {
  it('returns the result and the elapsed milliseconds', async () => {
    let resolve!: (value: string) => void;
    const pending = time(() => new Promise<string>((r) => (resolve = r)));
    const before = performance.now();
    resolve('done');
    const [result, elapsed] = await pending;
    expect(result).toBe('done');
    expect(elapsed).toBeGreaterThanOrEqual(0);
    expect(elapsed).toBeLessThanOrEqual(performance.now() - before + 1);
  });
});
