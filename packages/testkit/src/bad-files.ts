import { writeFile } from 'node:fs/promises';
import { crc32, deflateRawSync } from 'node:zlib';
import { type HrColumn, type HrRow, hrRow } from '@provisioning/sample-source';

export interface ZipEntryInput {
  name: string;
  data: Buffer;
  /** Unpacked size written in the archive's headers instead of the real one (a lying zip bomb). */
  declaredSize?: number;
}

/** Writes a plain ZIP archive (deflated entries), so tests can craft archives exceljs would not write. */
export async function writeZip(path: string, entries: readonly ZipEntryInput[]): Promise<void> {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const packed = deflateRawSync(entry.data);
    const size = entry.declaredSize ?? entry.data.length;
    const crc = crc32(entry.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, packed);
    centrals.push(central, name);
    offset += local.length + name.length + packed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  await writeFile(path, Buffer.concat([...locals, directory, end]));
}

const WORKBOOK_XML = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
);

const WORKBOOK_RELS = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
);

const SHEET_START =
  '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>';
const SHEET_END = '</sheetData></worksheet>';

/**
 * An .xlsx-shaped zip bomb: a tiny file whose sheet XML unpacks to `unpackedBytes` of blanks, or with
 * `inCell` to one cell holding that many letters (text a reader collects, not padding it skips).
 * With `lie`, the archive declares the sheet as 1 KB, so only counting while unpacking catches it.
 */
export async function writeZipBomb(
  path: string,
  options: { unpackedBytes: number; lie?: boolean; inCell?: boolean },
): Promise<void> {
  const sheet = options.inCell
    ? Buffer.concat([
        Buffer.from(`${SHEET_START}<row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c></row>`),
        Buffer.from('<row r="2"><c r="A2" t="inlineStr"><is><t>'),
        Buffer.alloc(options.unpackedBytes, 'A'),
        Buffer.from(`</t></is></c></row>${SHEET_END}`),
      ])
    : Buffer.concat([
        Buffer.from(SHEET_START),
        Buffer.alloc(options.unpackedBytes, ' '),
        Buffer.from(SHEET_END),
      ]);
  await writeZip(path, [
    { name: '[Content_Types].xml', data: Buffer.from('<?xml version="1.0"?><Types/>') },
    { name: 'xl/workbook.xml', data: WORKBOOK_XML },
    { name: 'xl/_rels/workbook.xml.rels', data: WORKBOOK_RELS },
    { name: 'xl/worksheets/sheet1.xml', data: sheet, declaredSize: options.lie ? 1024 : undefined },
  ]);
}

/** The columns of the hostile workbooks below: the key, the email and the two names every row needs. */
const BOMB_COLUMNS = ['employee_id', 'email', 'first_name', 'last_name'];

const escapeXml = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;');

const sharedStringsXml = (strings: readonly string[]) =>
  Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="${strings.length}" uniqueCount="${strings.length}">${strings.map((s) => `<si><t>${escapeXml(s)}</t></si>`).join('')}</sst>`,
  );

/**
 * A "billion laughs" workbook without entities: a file of a few KB per thousand rows whose every data
 * cell refers to the same `length`-character shared string (upper-case, so lower-casing an email or a
 * key copies it). Held once by the reader, it reaches the engine once per cell: 470k rows of it are
 * 1.9 billion characters handed on.
 */
export async function writeSharedStringBomb(
  path: string,
  options: { rows: number; length?: number },
): Promise<void> {
  const long = 'LOL'.repeat(Math.ceil((options.length ?? 1000) / 3)).slice(0, options.length ?? 1000);
  const cell = (column: string, row: number, index: number) =>
    `<c r="${column}${row}" t="s"><v>${index}</v></c>`;
  const columns = ['A', 'B', 'C', 'D'];
  const parts = [SHEET_START, `<row r="1">${columns.map((column, i) => cell(column, 1, i)).join('')}</row>`];
  for (let row = 2; row <= options.rows + 1; row++) {
    parts.push(
      `<row r="${row}">${columns.map((column) => cell(column, row, BOMB_COLUMNS.length)).join('')}</row>`,
    );
  }
  parts.push(SHEET_END);
  await writeZip(path, [
    { name: '[Content_Types].xml', data: Buffer.from('<?xml version="1.0"?><Types/>') },
    { name: 'xl/workbook.xml', data: WORKBOOK_XML },
    { name: 'xl/_rels/workbook.xml.rels', data: WORKBOOK_RELS },
    { name: 'xl/sharedStrings.xml', data: sharedStringsXml([...BOMB_COLUMNS, long]) },
    { name: 'xl/worksheets/sheet1.xml', data: Buffer.from(parts.join('')) },
  ]);
}

/**
 * The classic "billion laughs": a shared strings table whose DOCTYPE defines entities of entities, ten
 * deep, so that one reference would expand to 3 billion characters in a parser that expands entities.
 */
export async function writeEntityBomb(path: string): Promise<void> {
  const entities = ['<!ENTITY lol0 "lol">'];
  for (let level = 1; level <= 9; level++) {
    entities.push(`<!ENTITY lol${level} "${`&lol${level - 1};`.repeat(10)}">`);
  }
  const strings = Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE sst [${entities.join('')}]><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">${BOMB_COLUMNS.map((s) => `<si><t>${s}</t></si>`).join('')}<si><t>&lol9;</t></si></sst>`,
  );
  const row = (r: number, index: (i: number) => number) =>
    `<row r="${r}">${['A', 'B', 'C', 'D'].map((c, i) => `<c r="${c}${r}" t="s"><v>${index(i)}</v></c>`).join('')}</row>`;
  await writeZip(path, [
    { name: '[Content_Types].xml', data: Buffer.from('<?xml version="1.0"?><Types/>') },
    { name: 'xl/workbook.xml', data: WORKBOOK_XML },
    { name: 'xl/_rels/workbook.xml.rels', data: WORKBOOK_RELS },
    { name: 'xl/sharedStrings.xml', data: strings },
    {
      name: 'xl/worksheets/sheet1.xml',
      data: Buffer.from(`${SHEET_START}${row(1, (i) => i)}${row(2, () => 4)}${SHEET_END}`),
    },
  ]);
}

/**
 * HR rows 1..`rows` whose `fields` (default: both names, job title and department) each hold a value of
 * exactly `length` characters (default 1,000, the most a field may hold) that no other row has: a
 * file that compresses to little but is all distinct text. Write it with writeHrCsv or writeHrXlsx.
 */
export function* longValueRows(
  rows: number,
  options: { length?: number; fields?: readonly HrColumn[] } = {},
): Generator<HrRow> {
  const length = options.length ?? 1000;
  const fields = options.fields ?? ['first_name', 'last_name', 'job_title', 'department'];
  for (let n = 1; n <= rows; n++) {
    const row = hrRow(n);
    for (const field of fields) {
      const unique = `${field} ${n} `;
      row[field] = unique + 'x'.repeat(Math.max(0, length - unique.length));
    }
    yield row;
  }
}

/** The first bytes of a real PNG image (signature and header chunk), for "renamed binary" cases. */
export const PNG_BYTES = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
);
