import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';

/** The channel the sync_run trigger notifies, with the organisation's ID as payload. */
const CHANNEL = 'sync_run_changed';
/** How long a probe notification may take before notifications are taken not to work here. */
const PROBE_TIMEOUT_MS = 2_000;
const RECONNECT_DELAY_MS = 1_000;

export interface RunChangeFeedOptions {
  databaseUrl: string;
  logger: Logger;
  /** How often live views look for changes when notifications do not arrive (the embedded database). */
  fallbackPollIntervalMs: number;
  /** A backstop while notifications work: a lost notification is never lost for longer than this. */
  backstopPollIntervalMs?: number;
}

/**
 * Wakes the API's live views when a run of their organisation changes. One LISTEN connection per API
 * process; each notification carries the organisation's ID. The views themselves read what changed
 * (`runChangesSince`), so a missed notification delays a change but never loses it: views also look on
 * a timer, every `fallbackPollIntervalMs` when notifications are found not to reach this process (a
 * probe is sent at each connect; the embedded database does not deliver them across connections).
 */
export class RunChangeFeed {
  readonly #options: RunChangeFeedOptions;
  readonly #listeners = new Map<string, Set<() => void>>();
  #client: pg.Client | null = null;
  #notificationsWork = false;
  #closed = false;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #probeToken = '';
  #probeArrived: (() => void) | undefined;

  constructor(options: RunChangeFeedOptions) {
    this.#options = options;
  }

  /** Whether notifications were seen to arrive on the current connection. */
  get notificationsWork(): boolean {
    return this.#notificationsWork;
  }

  /** How long a live view may wait before looking for changes without being woken. */
  get pollIntervalMs(): number {
    return this.#notificationsWork
      ? (this.#options.backstopPollIntervalMs ?? 10_000)
      : this.#options.fallbackPollIntervalMs;
  }

  /** Connects and listens; on failure, keeps retrying in the background (views poll meanwhile). */
  async start(): Promise<void> {
    await this.#connect();
  }

  /** Calls `listener` whenever a run of `organisationId` may have changed; returns the unsubscribe. */
  subscribe(organisationId: string, listener: () => void): () => void {
    let set = this.#listeners.get(organisationId);
    if (!set) {
      set = new Set();
      this.#listeners.set(organisationId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#listeners.get(organisationId) === set)
        this.#listeners.delete(organisationId);
    };
  }

  /** Closed on shutdown: live views end, so their open responses do not hold the server up. */
  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#wakeAll();
    clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => {});
  }

  #wake(organisationId: string) {
    for (const listener of this.#listeners.get(organisationId) ?? []) listener();
  }

  #wakeAll() {
    for (const organisationId of this.#listeners.keys()) this.#wake(organisationId);
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const { logger } = this.#options;
    const client = new pg.Client({ connectionString: this.#options.databaseUrl });
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      if (message.payload === this.#probeToken) {
        this.#notificationsWork = true;
        this.#probeArrived?.();
        return;
      }
      this.#wake(message.payload);
    });
    client.on('error', (error) => {
      logger.warn({ err: error }, 'live updates: notification connection lost; reconnecting');
      this.#lost(client);
    });
    client.on('end', () => this.#lost(client));
    try {
      await client.connect();
      await client.query(`listen ${CHANNEL}`);
      this.#client = client;
      this.#notificationsWork = false;
      // Changes made while disconnected sent notifications nobody heard: every view looks again.
      this.#wakeAll();
      void this.#probe();
    } catch (error) {
      logger.warn({ err: error }, 'live updates: cannot listen for run changes; views poll instead');
      await client.end().catch(() => {});
      this.#scheduleReconnect();
    }
  }

  #lost(client: pg.Client) {
    if (this.#client !== client) return;
    this.#client = null;
    this.#notificationsWork = false;
    client.end().catch(() => {});
    this.#scheduleReconnect();
  }

  #scheduleReconnect() {
    if (this.#closed) return;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => void this.#connect(), RECONNECT_DELAY_MS);
    this.#reconnectTimer.unref();
  }

  /** Sends a notification from another connection and sees whether it comes back. */
  async #probe(): Promise<void> {
    this.#probeToken = `probe:${randomUUID()}`;
    const arrived = new Promise<void>((resolve) => {
      this.#probeArrived = resolve;
      setTimeout(resolve, PROBE_TIMEOUT_MS).unref();
    });
    const sender = new pg.Client({ connectionString: this.#options.databaseUrl });
    try {
      await sender.connect();
      await sender.query('select pg_notify($1, $2)', [CHANNEL, this.#probeToken]);
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'live updates: probe notification failed');
    } finally {
      await sender.end().catch(() => {});
    }
    await arrived;
    this.#probeArrived = undefined;
    this.#options.logger.info(
      { notifications: this.#notificationsWork },
      this.#notificationsWork
        ? 'live updates: listening for run changes'
        : `live updates: notifications do not arrive here; views poll every ${this.#options.fallbackPollIntervalMs} ms`,
    );
  }
}
