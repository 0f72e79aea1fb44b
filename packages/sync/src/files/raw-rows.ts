/**
 * What the format readers (csv-rows, xlsx-rows) hand file-reader.ts, which applies the header. It lives
 * apart from file-reader.ts because that file imports the readers: kept there, each reader imported it back.
 */

/** One row as read from the file, before the header is applied. */
export interface RawRow {
  /** As a person finds it: the spreadsheet row, or the CSV record counting from 1. */
  rowNumber: number;
  cells: string[];
}

/** Rows from a file, and a way to release what reads them (streams, descriptors) early. */
export interface RawRowSource {
  /** In order, in batches of the rows the reader has ready; no batch is empty. */
  rows: AsyncGenerator<RawRow[]>;
  /** XLSX rows hold only their non-empty cells: a short row is normal there, not a mismatch. */
  shortRowsAreNormal: boolean;
  release(): void;
}

/** Sizes as the error messages give them to a person (the page shows them the same way). */
export { formatBytes } from '@provisioning/shared';
