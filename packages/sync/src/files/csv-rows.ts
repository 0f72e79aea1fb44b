import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { finished, pipeline, type Readable, Transform } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import iconv from 'iconv-lite';
import { SourceError } from '../connectors/source.ts';
import type { RawRow, RawRowSource } from './raw-rows.ts';

export type CsvEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252' | 'iso-8859-1';
type Delimiter = ',' | ';' | '\t' | '|';

const DELIMITERS: readonly Delimiter[] = [',', ';', '\t', '|'];
/** A record longer than this is almost always an opening quote that is never closed. */
const MAX_RECORD_BYTES = 1024 * 1024;

const ENCODING_HINT =
  'The file is probably in a legacy encoding such as windows-1252 (Excel on Windows) or iso-8859-1: set encoding to that in the configuration, or export the file as "CSV UTF-8".';

function byteOrderMark(head: Buffer): { encoding: CsvEncoding; length: number } | null {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', length: 3 };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', length: 2 };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', length: 2 };
  return null;
}

interface Decoder {
  write(chunk: Buffer): string;
  end(): string;
}

/** Thrown by the UTF-8 check; turned into BadEncoding with the exact place once the stream stops. */
class InvalidUtf8 extends Error {}

/** Bytes at the end of `data` that start a UTF-8 sequence the next chunk completes (0 to 3). */
function incompleteTail(data: Buffer): number {
  const end = data.length;
  for (let back = 1; back <= Math.min(3, end); back++) {
    const byte = data[end - back] as number;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back for the lead
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? back : 0;
  }
  return 0;
}

/**
 * Passes UTF-8 bytes through unchanged, failing at the first invalid sequence. csv-parse works on bytes and
 * decodes each field once: decoding here first would make it encode the text back to bytes.
 */
function utf8Check(): Transform {
  let carry: Buffer | null = null;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const data: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
      const complete = data.length - incompleteTail(data);
      carry = complete < data.length ? data.subarray(complete) : null;
      if (!isUtf8(data.subarray(0, complete))) done(new InvalidUtf8('invalid UTF-8'));
      else done(null, chunk);
    },
    flush(done) {
      // The file ends inside a character.
      done(carry ? new InvalidUtf8('invalid UTF-8 at the end of the file') : null);
    },
  });
}

/** A decoder of a legacy or UTF-16 encoding; UTF-8 is not decoded here but checked (utf8Check). */
function decoderFor(encoding: Exclude<CsvEncoding, 'utf-8'>): Decoder {
  const decoder = iconv.getDecoder(encoding, { stripBOM: false });
  return { write: (chunk) => decoder.write(chunk), end: () => decoder.end() ?? '' };
}

/** Decodes another encoding (UTF-16, windows-1252, ...); csv-parse takes the text as UTF-8 bytes. */
function decodeText(encoding: Exclude<CsvEncoding, 'utf-8'>): Transform {
  const decoder = decoderFor(encoding);
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        done(null, decoder.write(chunk));
      } catch (error) {
        done(error as Error);
      }
    },
    flush(done) {
      try {
        done(null, decoder.end());
      } catch (error) {
        done(error as Error);
      }
    },
  });
}

/**
 * Records per batch at most. Handed out whole, csv-parse's buffer (a read chunk's worth, ~2,000 records)
 * lived long enough to be promoted out of the young generation: at 200k rows that raised the peak by 60 MB
 * and slowed reading. A few hundred keep both down.
 */
const BATCH_RECORDS = 256;

/**
 * An object stream's items, in batches of what it has buffered, ending or throwing as the stream does.
 * Its own async iterator takes an await per item: over 100k records, a good part of reading the file.
 */
async function* batchesOf<T>(stream: Readable): AsyncGenerator<T[]> {
  let wake = () => {};
  /** undefined while the stream runs; null once it ended, else why it failed. */
  let failure: Error | null | undefined;
  const onReadable = () => wake();
  stream.on('readable', onReadable);
  const stop = finished(stream, { writable: false }, (error) => {
    failure = error ?? null;
    wake();
  });
  try {
    for (;;) {
      const batch: T[] = [];
      while (batch.length < BATCH_RECORDS) {
        const item = stream.destroyed ? null : stream.read();
        if (item === null) break;
        batch.push(item as T);
      }
      if (batch.length > 0) yield batch;
      else if (failure) throw failure;
      else if (failure === null) return;
      else await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stream.off('readable', onReadable);
    stop();
  }
}

/** The header line's most frequent candidate delimiter outside quotes; `,` when there is none. */
export function detectDelimiter(text: string): Delimiter {
  const counts = new Map<string, number>();
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === '\n' || char === '\r')) break;
    else if (!quoted && DELIMITERS.includes(char as Delimiter)) counts.set(char, (counts.get(char) ?? 0) + 1);
  }
  let best: Delimiter = ',';
  for (const delimiter of DELIMITERS) {
    if ((counts.get(delimiter) ?? 0) > (counts.get(best) ?? 0)) best = delimiter;
  }
  return best;
}

/**
 * Where the first byte that is not UTF-8 sits (1-based line), found by a second pass over the file once
 * decoding has failed, so the message can point at it.
 */
async function locateInvalidUtf8(
  path: string,
  start: number,
): Promise<{ line: number; byte: number } | null> {
  let line = 1;
  let need = 0;
  let lead = 0;
  let low = 0x80;
  let high = 0xbf;
  for await (const chunk of createReadStream(path, {
    start,
    highWaterMark: 256 * 1024,
  }) as AsyncIterable<Buffer>) {
    for (const byte of chunk) {
      if (need > 0) {
        // Report the byte that started the sequence: in a legacy encoding that byte is the character.
        if (byte < low || byte > high) return { line, byte: lead };
        need--;
        low = 0x80;
        high = 0xbf;
        continue;
      }
      if (byte === 0x0a) line++;
      if (byte < 0x80) continue;
      lead = byte;
      if (byte >= 0xc2 && byte <= 0xdf) need = 1;
      else if (byte >= 0xe0 && byte <= 0xef) {
        need = 2;
        if (byte === 0xe0) low = 0xa0;
        if (byte === 0xed) high = 0x9f;
      } else if (byte >= 0xf0 && byte <= 0xf4) {
        need = 3;
        if (byte === 0xf0) low = 0x90;
        if (byte === 0xf4) high = 0x8f;
      } else return { line, byte };
    }
  }
  return null;
}

function badEncoding(
  origin: string,
  found: { line: number; byte: number } | null,
  cause: unknown,
): SourceError {
  const where = found
    ? `: byte 0x${found.byte.toString(16).toUpperCase().padStart(2, '0')} on line ${found.line} is not UTF-8`
    : '';
  return new SourceError('BadEncoding', `${origin} is not valid UTF-8 text${where}.`, {
    hint: ENCODING_HINT,
    cause,
  });
}

/** Bytes that only a binary file (or UTF-16 read as 8-bit) has: NUL. */
function nulPattern(head: Buffer): 'none' | 'utf-16' | 'binary' {
  let nuls = 0;
  let evenNuls = 0;
  for (let i = 0; i < head.length; i++) {
    if (head[i] !== 0) continue;
    nuls++;
    if (i % 2 === 0) evenNuls++;
  }
  if (nuls === 0) return 'none';
  // ASCII text in UTF-16 has a NUL in every other byte, all on the same side.
  const oneSided = evenNuls === 0 || evenNuls === nuls;
  return oneSided && nuls >= head.length / 3 ? 'utf-16' : 'binary';
}

function csvProblem(error: CsvError, origin: string): SourceError {
  const line = (error as CsvError & { lines?: number }).lines;
  const at = line ? ` near line ${line}` : '';
  if (error.code === 'CSV_MAX_RECORD_SIZE') {
    return new SourceError(
      'CorruptFile',
      `${origin} has a row longer than 1 MB${at}; usually a quote that opens a field and never closes.`,
      { hint: 'Check the quoting around that line, or export the file again.', cause: error },
    );
  }
  if (error.code === 'CSV_QUOTE_NOT_CLOSED') {
    return new SourceError(
      'CorruptFile',
      `${origin} ends inside a quoted field: a quote opened${at} is never closed.`,
      {
        hint: 'Check the quoting around that line (a quote inside a quoted field must be doubled: ""), or export the file again.',
        cause: error,
      },
    );
  }
  return new SourceError('CorruptFile', `${origin} is not valid CSV${at}: ${error.message}`, {
    hint: 'Fields that contain the delimiter, a quote or a line break must be wrapped in double quotes, with quotes inside doubled (""). Export the file again or fix that line.',
    cause: error,
  });
}

/**
 * Streams a CSV file's records (RFC 4180: quoted delimiters, doubled quotes, line breaks in quotes,
 * CRLF or LF), decoding as it goes; the file is never held whole in memory.
 */
export async function csvRows(
  path: string,
  head: Buffer,
  settings: { delimiter?: Delimiter; encoding?: CsvEncoding },
  origin: string,
): Promise<RawRowSource> {
  const bom = byteOrderMark(head);
  const encoding = bom?.encoding ?? settings.encoding ?? 'utf-8';
  const start = bom?.length ?? 0;

  if (encoding !== 'utf-16le' && encoding !== 'utf-16be') {
    const nul = nulPattern(head.subarray(start));
    if (nul === 'utf-16') {
      throw new SourceError('BadEncoding', `${origin} looks like UTF-16 text without a byte-order mark.`, {
        hint: 'Set encoding to utf-16le (or utf-16be) in the configuration, or export the file as "CSV UTF-8".',
      });
    }
    if (nul === 'binary') {
      throw new SourceError('UnsupportedFormat', `${origin} looks like a binary file, not CSV text.`, {
        hint: 'Check that the export writes CSV or XLSX; if the file was renamed, export it again in one of those formats.',
      });
    }
  }

  // Delimiters are ASCII: a UTF-8 sample is read as Latin-1 so that a bad byte cannot stop detection.
  const sample = decoderFor(encoding === 'utf-8' ? 'iso-8859-1' : encoding).write(head.subarray(start));
  if (encoding === 'utf-8') {
    // Fail on the first bytes right away rather than after the header was handed out.
    const first = head.subarray(start);
    if (!isUtf8(first.subarray(0, first.length - incompleteTail(first)))) {
      throw badEncoding(origin, await locateInvalidUtf8(path, start), new InvalidUtf8('invalid UTF-8'));
    }
  }
  const delimiter = settings.delimiter ?? detectDelimiter(sample);

  const file = createReadStream(path, { start, highWaterMark: 256 * 1024 });
  const decode = encoding === 'utf-8' ? utf8Check() : decodeText(encoding);
  const parser = parse({
    delimiter,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: false,
    max_record_size: MAX_RECORD_BYTES,
  });
  pipeline(file, decode, parser, () => {});

  async function* rows(): AsyncGenerator<RawRow[]> {
    let rowNumber = 0;
    try {
      for await (const records of batchesOf<string[]>(parser)) {
        const batch: RawRow[] = new Array(records.length);
        for (let i = 0; i < records.length; i++) batch[i] = { rowNumber: ++rowNumber, cells: records[i]! };
        yield batch;
      }
    } catch (error) {
      if (error instanceof InvalidUtf8) {
        throw badEncoding(origin, await locateInvalidUtf8(path, start), error);
      }
      if (error instanceof CsvError) throw csvProblem(error, origin);
      throw error;
    }
  }

  return {
    rows: rows(),
    shortRowsAreNormal: false,
    release() {
      file.destroy();
      parser.destroy();
    },
  };
}
