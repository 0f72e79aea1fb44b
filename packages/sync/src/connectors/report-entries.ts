/**
 * Where each entry of a report document `{"Report_Entry":[{...},{...}]}` lies in its bytes, found without
 * decoding the document: each entry is then parsed on its own when wanted. A 200k-worker report is about
 * 80 MB of UTF-8; as one string (JSON.parse takes nothing else) it is 160 MB once it holds a single
 * non-Latin-1 character (`Łukasz`), and its parsed objects as much again, beside the engine's own records.
 *
 * Only the document's frame is checked here (an object, its keys and values, a Report_Entry list); each
 * entry and every other value is checked by JSON.parse. A document this reader does not follow (an
 * escaped key, a second Report_Entry, bytes after the end) returns null: the caller parses it whole, the
 * slow and sure way, which also says what is wrong with it.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** The byte ranges of the entries: entry i is `body[starts[i], ends[i])`. */
export interface EntryRanges {
  starts: number[];
  ends: number[];
}

const isSpace = (byte: number | undefined) =>
  byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

function skipSpace(body: Buffer, at: number): number {
  let index = at;
  while (isSpace(body[index])) index++;
  return index;
}

/** Past the string whose opening quote is at `at`, or -1 when it does not end. */
function skipString(body: Buffer, at: number): number {
  let from = at + 1;
  for (;;) {
    const quote = body.indexOf(QUOTE, from);
    if (quote === -1) return -1;
    let backslashes = 0;
    while (body[quote - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** Past the value starting at `at` (its extent only: JSON.parse checks it), or -1. */
function skipValue(body: Buffer, at: number): number {
  const first = body[at];
  if (first === QUOTE) return skipString(body, at);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    for (let index = at; index < body.length; index++) {
      const byte = body[index];
      if (byte === QUOTE) {
        const end = skipString(body, index);
        if (end === -1) return -1;
        index = end - 1;
      } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) depth++;
      else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return index + 1;
      }
    }
    return -1;
  }
  let index = at;
  while (
    index < body.length &&
    !isSpace(body[index]) &&
    body[index] !== COMMA &&
    body[index] !== CLOSE_BRACE &&
    body[index] !== CLOSE_BRACKET
  ) {
    index++;
  }
  return index > at ? index : -1;
}

/** Whether `body[from, to)` is one valid JSON value. */
function validJson(body: Buffer, from: number, to: number): boolean {
  try {
    JSON.parse(body.toString('utf8', from, to));
    return true;
  } catch {
    return false;
  }
}

/** The entries' byte ranges, or null for a document to parse whole (see above). */
export function findReportEntries(body: Buffer): EntryRanges | null {
  // A UTF-8 byte order mark may start the document.
  let index = skipSpace(body, body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0);
  if (body[index] !== OPEN_BRACE) return null;
  index = skipSpace(body, index + 1);
  let ranges: EntryRanges | null = null;
  if (body[index] === CLOSE_BRACE) return null;
  for (;;) {
    if (body[index] !== QUOTE) return null;
    const keyEnd = skipString(body, index);
    if (keyEnd === -1) return null;
    const key = body.toString('utf8', index + 1, keyEnd - 1);
    if (key.includes('\\')) return null;
    index = skipSpace(body, keyEnd);
    if (body[index] !== COLON) return null;
    index = skipSpace(body, index + 1);
    if (key === 'Report_Entry') {
      if (ranges !== null || body[index] !== OPEN_BRACKET) return null;
      ranges = { starts: [], ends: [] };
      index = skipSpace(body, index + 1);
      if (body[index] === CLOSE_BRACKET) index++;
      else {
        for (;;) {
          const end = skipValue(body, index);
          if (end === -1) return null;
          ranges.starts.push(index);
          ranges.ends.push(end);
          index = skipSpace(body, end);
          if (body[index] === COMMA) index = skipSpace(body, index + 1);
          else if (body[index] === CLOSE_BRACKET) {
            index++;
            break;
          } else return null;
        }
      }
    } else {
      const end = skipValue(body, index);
      if (end === -1 || !validJson(body, index, end)) return null;
      index = end;
    }
    index = skipSpace(body, index);
    if (body[index] === COMMA) index = skipSpace(body, index + 1);
    else if (body[index] === CLOSE_BRACE) break;
    else return null;
  }
  return skipSpace(body, index + 1) === body.length ? ranges : null;
}
