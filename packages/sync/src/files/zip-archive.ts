import type { Readable } from 'node:stream';
import { type Entry, openPromise, type ZipFile } from 'yauzl';
import { SourceError } from '../connectors/source.ts';
import { formatBytes } from './raw-rows.ts';

/** An archive entry as yauzl reads it from the central directory (ZIP64 sizes resolved). */
export type ZipEntry = Entry;

/** Unpacked bytes allowed across every entry read from one archive: the zip-bomb guard. */
export interface UnpackBudget {
  used: number;
  limit: number;
  /** The error to throw once `used` passes `limit`. */
  exceeded(): SourceError;
}

const REEXPORT_HINT = 'Open the file in Excel, save it again as .xlsx and upload it again.';
/**
 * Parts a workbook may hold: a workbook has a few per sheet, so ten thousand is far beyond any real one.
 * Past it the archive is refused before its table of contents is read, since every entry is kept.
 */
export const MAX_ZIP_ENTRIES = 10_000;

export function corruptArchive(origin: string, what: string, cause?: unknown): SourceError {
  return new SourceError('CorruptFile', `${origin} is not a readable Excel workbook: ${what}.`, {
    hint: REEXPORT_HINT,
    cause,
  });
}

function encrypted(origin: string): SourceError {
  return new SourceError('CorruptFile', `${origin} is encrypted (password-protected).`, {
    hint: 'Save the workbook without a password and upload it again.',
  });
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** An open ZIP archive: its entries by name, each readable as text, in any order. */
export interface ZipArchive {
  entries: Map<string, ZipEntry>;
  /**
   * An entry's content as text, unpacked as it is read and counted against the budget, so a lying zip
   * bomb stops at the limit. Multi-byte characters split between chunks are decoded correctly.
   */
  text(entry: ZipEntry, budget: UnpackBudget): AsyncGenerator<string>;
  /** Closes the file once the streams still reading it end; safe to call more than once. */
  close(): void;
}

/**
 * Opens a ZIP archive with yauzl and reads its table of contents (its central directory) without
 * unpacking anything. yauzl's own check of unpacked sizes is off: `text` counts the bytes itself, so the
 * same pass charges the workbook's budget and names the entry and sizes in the message.
 */
export async function openZipArchive(path: string, origin: string): Promise<ZipArchive> {
  let zip: ZipFile;
  try {
    zip = await openPromise(path, { autoClose: false, validateEntrySizes: false, strictFileNames: false });
  } catch (error) {
    throw corruptArchive(
      origin,
      /end of central directory record signature not found/i.test(message(error))
        ? 'its end is missing (the export or the download may have been cut short)'
        : 'its table of contents is damaged',
      error,
    );
  }
  const entries = new Map<string, ZipEntry>();
  try {
    if (zip.entryCount > MAX_ZIP_ENTRIES) {
      throw corruptArchive(
        origin,
        `its table of contents lists ${zip.entryCount.toLocaleString('en-US')} files, more than a workbook holds`,
      );
    }
    try {
      await new Promise<void>((resolve, reject) => {
        zip.on('entry', (entry: ZipEntry) => {
          entries.set(entry.fileName, entry);
          zip.readEntry();
        });
        zip.once('end', resolve);
        zip.once('error', reject);
        zip.readEntry();
      });
    } catch (error) {
      // yauzl refuses strong encryption while reading the table of contents, before any entry is read.
      if (/encryption/i.test(message(error))) throw encrypted(origin);
      throw corruptArchive(origin, 'its table of contents is damaged', error);
    }
  } catch (error) {
    zip.close();
    throw error;
  }

  async function* text(entry: ZipEntry, budget: UnpackBudget): AsyncGenerator<string> {
    if (entry.isEncrypted()) throw encrypted(origin);
    if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
      throw corruptArchive(origin, `${entry.fileName} uses an unsupported compression method`);
    }
    if (entry.compressedSize === 0) return;
    let stream: Readable;
    try {
      stream = await zip.openReadStreamPromise(entry);
    } catch (error) {
      throw corruptArchive(
        origin,
        /overflows file bounds/.test(message(error))
          ? `${entry.fileName} points outside the file`
          : `${entry.fileName} is damaged`,
        error,
      );
    }
    const decoder = new TextDecoder('utf-8');
    let unpacked = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        unpacked += chunk.length;
        // The declared size is a cap, checked as the bytes come: a zip bomb that claims 1 KB stops at the
        // first chunk past it rather than at the budget for the whole workbook.
        if (unpacked > entry.uncompressedSize) {
          throw corruptArchive(
            origin,
            `${entry.fileName} unpacks to more than the ${formatBytes(entry.uncompressedSize)} its table of contents says`,
          );
        }
        budget.used += chunk.length;
        if (budget.used > budget.limit) throw budget.exceeded();
        yield decoder.decode(chunk, { stream: true });
      }
    } catch (error) {
      if (error instanceof SourceError) throw error;
      throw corruptArchive(origin, `${entry.fileName} is damaged`, error);
    } finally {
      stream.destroy();
    }
    const rest = decoder.decode();
    if (rest) yield rest;
    if (unpacked < entry.uncompressedSize) {
      throw corruptArchive(
        origin,
        `${entry.fileName} unpacks to ${formatBytes(unpacked)}, less than the ${formatBytes(entry.uncompressedSize)} its table of contents says`,
      );
    }
  }

  return { entries, text, close: () => zip.close() };
}
