import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  SOURCE_ORIGIN_MAX_LENGTH,
  type SourceFingerprint,
  SourceFingerprintSchema,
} from '@provisioning/shared';
import type { SourceRecord, SourceTable } from './source.ts';

/**
 * The fingerprint of the exact source a run read (SourceFingerprint): each connector feeds a digest the
 * raw bytes it read, and `withFingerprint` counts the records handed on and answers `fingerprint()` once
 * they end.
 */

/** SHA-256 and size of the answers a connector read, fed whole and in order as they are accepted. */
export class SourceDigest {
  readonly #hash = createHash('sha256');
  #sha256: string | undefined;
  bytes = 0;
  /** Answers fed. */
  pages = 0;
  /** Set once the connector has read everything: only then is there a fingerprint. */
  complete = false;

  /** The next bytes of the source. */
  update(bytes: Uint8Array): void {
    if (this.#sha256 !== undefined) throw new Error('The source digest was already taken');
    this.#hash.update(bytes);
    this.bytes += bytes.length;
  }

  /** One whole answer of a paged source (a retried one only as it finally came), after the ones before it. */
  addPage(body: Uint8Array): void {
    this.update(body);
    this.pages += 1;
  }

  get sha256(): string {
    this.#sha256 ??= this.#hash.digest('hex');
    return this.#sha256;
  }
}

/**
 * SHA-256 of a file, in one streamed pass: an SFTP download is written out of order (parallel reads), so
 * its bytes can only be hashed once it is complete.
 */
export async function digestFile(path: string, signal?: AbortSignal): Promise<SourceDigest> {
  const digest = new SourceDigest();
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024, signal })) {
    digest.update(chunk as Buffer);
  }
  digest.complete = true;
  return digest;
}

/**
 * The origin a fingerprint names: the URL without user info, fragment or query (which may carry
 * credentials or tokens) but for the parameters in `keep` that name what was read (Google's customer or
 * domain); control characters replaced, cut to SOURCE_ORIGIN_MAX_LENGTH.
 */
export function fingerprintOrigin(url: string | URL, keep: Record<string, string | undefined> = {}): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  parsed.hash = '';
  parsed.search = '';
  for (const [name, value] of Object.entries(keep)) {
    if (value !== undefined) parsed.searchParams.set(name, value);
  }
  return cleanOrigin(parsed.href);
}

/** `sftp://host[:port]/path` of a file on an SFTP server (the path as the server spells it). */
export function sftpOrigin(host: string, port: number, path: string): string {
  const server = host.includes(':') ? `[${host}]` : host;
  return cleanOrigin(
    `sftp://${server}${port === 22 ? '' : `:${port}`}${path.startsWith('/') ? '' : '/'}${path}`,
  );
}

function cleanOrigin(text: string): string {
  const clean = text.replace(/\p{Cc}/gu, '\uFFFD');
  return clean.length > SOURCE_ORIGIN_MAX_LENGTH ? `${clean.slice(0, SOURCE_ORIGIN_MAX_LENGTH - 1)}…` : clean;
}

/** What a connector says of its source besides the digest and the records. */
export interface SourceDescription {
  connector: SourceFingerprint['connector'];
  origin: string;
  digest: SourceDigest;
  /** Paged sources only: the digest's answers are their pages. */
  paged?: boolean;
  /** Sources that leave inactive people out: how many, once read. */
  leftOutInactive?: () => number;
}

/**
 * The table with `fingerprint()`: the records `batches` hands on are counted, and once the batches end
 * (read to the end, or failed after the connector had read every byte: a listing with no active user in
 * it, a file that turns out corrupt, whose records are then those handed on before) the fingerprint is
 * known. Before, when the reader stopped early, or when the source broke off midway, it is undefined.
 * The table object itself is kept (a connector's `origin` may be a getter).
 */
export function withFingerprint<T extends Omit<SourceTable, 'fingerprint'>>(
  table: T,
  source: SourceDescription,
): T & Required<Pick<SourceTable, 'fingerprint'>> {
  const inner = table.batches;
  let records = 0;
  let ended = false;
  let fingerprint: SourceFingerprint | undefined;
  async function* counted(): AsyncGenerator<SourceRecord[]> {
    // Not when the reader stops early (the generator returns at its yield): the rest was never read.
    try {
      for await (const batch of inner) {
        records += batch.length;
        yield batch;
      }
    } catch (error) {
      ended = true;
      throw error;
    }
    ended = true;
  }
  return Object.assign(table, {
    batches: counted(),
    fingerprint: () => {
      if (!ended || !source.digest.complete) return undefined;
      fingerprint ??= sourceFingerprint(source, records);
      return fingerprint;
    },
  });
}

/** The fingerprint of a source read whole, `records` handed on from it. */
export function sourceFingerprint(source: SourceDescription, records: number): SourceFingerprint {
  return SourceFingerprintSchema.parse({
    connector: source.connector,
    origin: source.origin,
    sha256: source.digest.sha256,
    bytes: source.digest.bytes,
    records,
    ...(source.paged ? { pages: source.digest.pages } : {}),
    ...(source.leftOutInactive ? { leftOutInactive: source.leftOutInactive() } : {}),
  });
}
