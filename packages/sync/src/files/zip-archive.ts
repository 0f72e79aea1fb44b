import { createReadStream, type ReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { createInflateRaw, type InflateRaw } from 'node:zlib';
import { SourceError } from '../connectors/source.ts';
import { formatBytes } from './raw-rows.ts';

export interface ZipEntry {
  name: string;
  flags: number;
  /** 0 stored, 8 deflated. */
  method: number;
  compressedSize: number;
  /** As the archive declares it: a zip bomb may lie, so reading counts the real bytes too. */
  uncompressedSize: number;
  localOffset: number;
}

/** Unpacked bytes allowed across every entry read from one archive: the zip-bomb guard. */
export interface UnpackBudget {
  used: number;
  limit: number;
  /** The error to throw once `used` passes `limit`. */
  exceeded(): SourceError;
}

const REEXPORT_HINT = 'Open the file in Excel, save it again as .xlsx and upload it again.';
const MAX_CENTRAL_DIRECTORY = 64 * 1024 * 1024;

export function corruptArchive(origin: string, what: string, cause?: unknown): SourceError {
  return new SourceError('CorruptFile', `${origin} is not a readable Excel workbook: ${what}.`, {
    hint: REEXPORT_HINT,
    cause,
  });
}

async function readAt(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/**
 * Reads a ZIP archive's table of contents (its central directory, ZIP64 included) without unpacking
 * anything, so entries can then be read one by one, in any order, straight from their offsets.
 */
export async function readZipDirectory(
  path: string,
  size: number,
  origin: string,
): Promise<Map<string, ZipEntry>> {
  const corrupt = (what: string) => corruptArchive(origin, what);
  const file = await open(path, 'r');
  try {
    const tail = await readAt(file, Math.max(0, size - 22 - 0xffff), Math.min(size, 22 + 0xffff));
    let end = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === 0x06054b50) {
        end = i;
        break;
      }
    }
    if (end < 0) throw corrupt('its end is missing (the export or the download may have been cut short)');
    let count = tail.readUInt16LE(end + 10);
    let directorySize = tail.readUInt32LE(end + 12);
    let directoryOffset = tail.readUInt32LE(end + 16);
    if (count === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
      const locator = end - 20;
      if (locator < 0 || tail.readUInt32LE(locator) !== 0x07064b50)
        throw corrupt('its ZIP64 directory is missing');
      const record = await readAt(file, Number(tail.readBigUInt64LE(locator + 8)), 56);
      if (record.length < 56 || record.readUInt32LE(0) !== 0x06064b50)
        throw corrupt('its ZIP64 directory is damaged');
      count = Number(record.readBigUInt64LE(32));
      directorySize = Number(record.readBigUInt64LE(40));
      directoryOffset = Number(record.readBigUInt64LE(48));
    }
    if (directoryOffset + directorySize > size || directorySize > MAX_CENTRAL_DIRECTORY) {
      throw corrupt('its table of contents points outside the file');
    }

    const directory = await readAt(file, directoryOffset, directorySize);
    const entries = new Map<string, ZipEntry>();
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > directory.length || directory.readUInt32LE(p) !== 0x02014b50) {
        throw corrupt('its table of contents is damaged');
      }
      const nameLength = directory.readUInt16LE(p + 28);
      const extraLength = directory.readUInt16LE(p + 30);
      const commentLength = directory.readUInt16LE(p + 32);
      const entry: ZipEntry = {
        name: directory.toString('utf8', p + 46, p + 46 + nameLength),
        flags: directory.readUInt16LE(p + 8),
        method: directory.readUInt16LE(p + 10),
        compressedSize: directory.readUInt32LE(p + 20),
        uncompressedSize: directory.readUInt32LE(p + 24),
        localOffset: directory.readUInt32LE(p + 42),
      };
      // ZIP64: values too big for 32 bits sit in extra field 0x0001, in this order.
      const extra = directory.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength);
      for (let x = 0; x + 4 <= extra.length; x += 4 + extra.readUInt16LE(x + 2)) {
        if (extra.readUInt16LE(x) !== 0x0001) continue;
        let field = x + 4;
        const next = () => {
          const value = field + 8 <= extra.length ? Number(extra.readBigUInt64LE(field)) : Number.NaN;
          field += 8;
          return value;
        };
        if (entry.uncompressedSize === 0xffffffff) entry.uncompressedSize = next();
        if (entry.compressedSize === 0xffffffff) entry.compressedSize = next();
        if (entry.localOffset === 0xffffffff) entry.localOffset = next();
      }
      if ([entry.uncompressedSize, entry.compressedSize, entry.localOffset].some(Number.isNaN)) {
        throw corrupt('its table of contents is damaged');
      }
      if (entry.localOffset + entry.compressedSize > size)
        throw corrupt(`${entry.name} points outside the file`);
      entries.set(entry.name, entry);
      p += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
  } finally {
    await file.close();
  }
}

/**
 * An entry's content as text, unpacked as it is read and counted against the budget, so a lying zip
 * bomb stops at the limit. Multi-byte characters split between chunks are decoded correctly.
 */
export async function* entryText(
  path: string,
  entry: ZipEntry,
  budget: UnpackBudget,
  origin: string,
): AsyncGenerator<string> {
  if (entry.flags & 0x1) {
    throw new SourceError('CorruptFile', `${origin} is encrypted (password-protected).`, {
      hint: 'Save the workbook without a password and upload it again.',
    });
  }
  if (entry.method !== 0 && entry.method !== 8) {
    throw corruptArchive(origin, `${entry.name} uses an unsupported compression method`);
  }
  const file = await open(path, 'r');
  let header: Buffer;
  try {
    header = await readAt(file, entry.localOffset, 30);
  } finally {
    await file.close();
  }
  if (header.length < 30 || header.readUInt32LE(0) !== 0x04034b50) {
    throw corruptArchive(origin, `${entry.name} is damaged`);
  }
  if (entry.compressedSize === 0) return;
  const start = entry.localOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  const raw: ReadStream = createReadStream(path, {
    start,
    end: start + entry.compressedSize - 1,
    highWaterMark: 64 * 1024,
  });
  const inflate: InflateRaw | null = entry.method === 8 ? createInflateRaw() : null;
  const chunks: AsyncIterable<Buffer> = inflate ? raw.pipe(inflate) : raw;
  raw.on('error', (error) => inflate?.destroy(error));
  const decoder = new TextDecoder('utf-8');
  let unpacked = 0;
  try {
    for await (const chunk of chunks) {
      unpacked += chunk.length;
      // The declared size is a cap, checked as the bytes come: a zip bomb that claims 1 KB stops at the
      // first chunk past it rather than at the budget for the whole workbook.
      if (unpacked > entry.uncompressedSize) {
        throw corruptArchive(
          origin,
          `${entry.name} unpacks to more than the ${formatBytes(entry.uncompressedSize)} its table of contents says`,
        );
      }
      budget.used += chunk.length;
      if (budget.used > budget.limit) throw budget.exceeded();
      yield decoder.decode(chunk, { stream: true });
    }
  } catch (error) {
    if (error instanceof SourceError) throw error;
    throw corruptArchive(origin, `${entry.name} is damaged`, error);
  } finally {
    raw.destroy();
    inflate?.destroy();
  }
  const rest = decoder.decode();
  if (rest) yield rest;
  if (unpacked < entry.uncompressedSize) {
    throw corruptArchive(
      origin,
      `${entry.name} unpacks to ${formatBytes(unpacked)}, less than the ${formatBytes(entry.uncompressedSize)} its table of contents says`,
    );
  }
}
