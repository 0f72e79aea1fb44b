import { describe, expect, it } from 'vitest';
import { type DownloadSlot, DownloadSlots } from './download-slots.ts';

function granted(slot: ReturnType<DownloadSlots['acquire']>): DownloadSlot {
  if ('refused' in slot) throw new Error(`refused: ${slot.message}`);
  return slot;
}

describe('DownloadSlots', () => {
  it('gives a session its share and refuses more until one of its downloads ends', async () => {
    const slots = new DownloadSlots({ perSession: 2, perProcess: 10 });
    const first = granted(slots.acquire('alice'));
    granted(slots.acquire('alice'));
    expect(slots.acquire('alice')).toEqual({
      refused: 'session',
      message: 'You already have 2 log downloads in progress. Wait for one to finish, then try again.',
    });
    granted(slots.acquire('bob'));
    first.release('completed');
    expect(await first.ended).toBe('completed');
    granted(slots.acquire('alice'));
    expect(slots.active).toBe(3);
    expect(slots.started).toBe(4);
  });

  it('refuses any session once the process runs its limit of downloads', () => {
    const slots = new DownloadSlots({ perSession: 2, perProcess: 3 });
    granted(slots.acquire('alice'));
    granted(slots.acquire('alice'));
    const bob = granted(slots.acquire('bob'));
    expect(slots.acquire('carol')).toMatchObject({ refused: 'process' });
    bob.release('aborted');
    granted(slots.acquire('carol'));
  });

  it('counts a slot released twice only once, keeping the first way it ended', async () => {
    const slots = new DownloadSlots({ perSession: 1, perProcess: 1 });
    const slot = granted(slots.acquire('alice'));
    slot.release('stalled');
    slot.release('completed');
    expect(await slot.ended).toBe('stalled');
    expect(slots.active).toBe(0);
    granted(slots.acquire('alice'));
    expect(slots.active).toBe(1);
  });
});
