/**
 * How many log exports may run at once, per session and in this process. An export holds database
 * reads, CPU (XLSX compression) and buffers for as long as its reader takes: without a cap, a few
 * dozen downloads (or a script) starve every other request of the API.
 *
 * Kept in this process's memory; with several API replicas each counts on its own.
 */
export interface DownloadLimits {
  perSession: number;
  perProcess: number;
}

/** How an export ended, for the log line and for tests. */
export type DownloadEnd = 'completed' | 'failed' | 'aborted' | 'stalled';

/** One running export: its progress, and a promise of how it ended. */
export interface DownloadSlot {
  readonly sessionKey: string;
  /** Log lines read from the database so far. */
  linesRead: number;
  /** Bytes the export has handed to the response so far. */
  bytesWritten: number;
  readonly ended: Promise<DownloadEnd>;
  /** Frees the slot; only the first call counts. */
  release(end: DownloadEnd): void;
}

export type SlotRefusal = { refused: 'session' | 'process'; message: string };

/** Seconds a refused client is told to wait: an export of a large log takes a few seconds. */
export const DOWNLOAD_RETRY_AFTER_SECONDS = 5;

export class DownloadSlots {
  readonly limits: DownloadLimits;
  readonly #active = new Set<DownloadSlot>();
  #started = 0;

  constructor(limits: DownloadLimits) {
    this.limits = limits;
  }

  /** Exports running now. */
  get active(): number {
    return this.#active.size;
  }

  /** Exports started since this process began: what tests read to see that a request exported nothing. */
  get started(): number {
    return this.#started;
  }

  /** The running exports, oldest first. */
  running(): DownloadSlot[] {
    return [...this.#active];
  }

  /** A slot for one export by this session, or why there is none. */
  acquire(sessionKey: string): DownloadSlot | SlotRefusal {
    const { perSession, perProcess } = this.limits;
    const ofSession = this.running().filter((slot) => slot.sessionKey === sessionKey).length;
    if (ofSession >= perSession) {
      return {
        refused: 'session',
        message: `You already have ${ofSession} log download${ofSession === 1 ? '' : 's'} in progress. Wait for one to finish, then try again.`,
      };
    }
    if (this.#active.size >= perProcess) {
      return {
        refused: 'process',
        message: 'The server is busy with other log downloads. Try again in a few seconds.',
      };
    }
    let resolveEnded!: (end: DownloadEnd) => void;
    const ended = new Promise<DownloadEnd>((resolve) => {
      resolveEnded = resolve;
    });
    const active = this.#active;
    const slot: DownloadSlot = {
      sessionKey,
      linesRead: 0,
      bytesWritten: 0,
      ended,
      release(end) {
        if (!active.delete(slot)) return;
        resolveEnded(end);
      },
    };
    active.add(slot);
    this.#started += 1;
    return slot;
  }
}
