/**
 * What an `XmlScanner` reports. Names are local names: `<x:row>` is reported as `row` (some .NET tools
 * write SpreadsheetML with a prefix). A self-closing tag gives `open` (with `selfClosing` true) then `close`.
 */
export interface XmlHandler {
  /** `attributes` is the tag's text after its name, as written: read it with `readAttributes`. */
  open(name: string, attributes: string, selfClosing: boolean): void;
  /**
   * Character data, as written (entities not decoded: pass it to `decodeXmlText` when it is wanted). An
   * element's text may come in several calls (split by a comment or CDATA section, or at the end of a
   * chunk), but never inside an entity or a CR LF, so each call can be decoded on its own.
   */
  text(raw: string): void;
  /** A CDATA section's content: already plain text (line ends normalised), never to be decoded. */
  cdata(text: string): void;
  close(name: string): void;
}

/**
 * Longest tag, comment, CDATA section or entity the scanner waits to see the end of, so a hostile file
 * cannot grow its buffer without bound. Text is passed on as it comes, so a long run of it (say the
 * padding of a zip bomb) is left to the unpacking budget.
 */
export const MAX_PENDING_XML = 4 * 1024 * 1024;

const LT = 60; // <
const GT = 62; // >
const SLASH = 47;
const BANG = 33;
const QUESTION = 63;
const DOUBLE_QUOTE = 34;
const SINGLE_QUOTE = 39;
const EQUALS = 61;
const AMPERSAND = 38;
const COLON = 58;
const SPACE = 32;
const TAB = 9;
const LF = 10;
const CR = 13;
const BOM = 0xfeff;

function isSpace(code: number): boolean {
  return code === SPACE || code === LF || code === TAB || code === CR;
}

function isWhitespace(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    if (!isSpace(text.charCodeAt(index))) return false;
  }
  return true;
}

/** Roughly XML's NameStartChar: a letter, `_`, `:` or any non-ASCII letter. */
function isNameStart(code: number): boolean {
  return (
    (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || code === 95 || code === COLON || code >= 0xc0
  );
}

function excerpt(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
}

/**
 * A streaming XML scanner for the parts of an XLSX file: fed text chunks split anywhere, it reports
 * tags and text to a handler. It jumps over text, comments and CDATA with `indexOf` and steps only
 * through the characters of tags, which makes it about three times faster than saxes. Its checks are the
 * cheap ones that stop a damaged file from passing as a shorter complete one: tags must nest and close,
 * the input must not end inside a tag or element, and a DOCTYPE (never present in XLSX) is refused, so
 * entity expansion cannot happen. Attributes and entities are checked only when read or decoded.
 */
export class XmlScanner {
  /** The end of the input so far when it stops inside markup or an entity: scanned again with the next chunk. */
  private rest = '';
  /** Characters of input before `rest`, for the position in error messages. */
  private consumed = 0;
  /** The input position of index 0 of the string being scanned, for error messages. */
  private base = 0;
  /** The open elements' names as written, to match closing tags. */
  private readonly stack: string[] = [];
  private started = false;
  private rootSeen = false;
  private ended = false;

  constructor(private readonly handler: XmlHandler) {}

  write(chunk: string): void {
    if (this.ended) throw new Error('XML input written after its end.');
    if (chunk === '') return;
    if (this.rest === '') {
      // A byte order mark may start the document (the UTF-8 decoder usually drops it).
      const from = !this.started && chunk.charCodeAt(0) === BOM ? 1 : 0;
      this.started = true;
      this.scan(chunk, from);
      return;
    }
    // What the last chunk left pending almost always ends at this chunk's first ">". Finishing it on its
    // own lets the rest of the chunk be scanned as the decoder made it, a flat string: reading characters
    // from a concatenation (rest + chunk) costs about a quarter more.
    const cut = chunk.indexOf('>') + 1;
    if (cut > 0) {
      this.scan(this.rest + chunk.slice(0, cut), 0);
      if (this.rest === '') {
        this.scan(chunk, cut);
        return;
      }
    }
    this.scan(this.rest + chunk.slice(cut), 0);
  }

  /** Reports the markup and text of `buffer` from `from` on, and keeps what is incomplete as `rest`. */
  private scan(buffer: string, from: number): void {
    this.base = this.consumed - from;
    const length = buffer.length;
    let position = from;
    while (position < length) {
      const lt = buffer.indexOf('<', position);
      if (lt === -1) {
        // Text up to the end: pass it on, but keep an entity or CR LF that may continue in the next chunk.
        let keep = length;
        const amp = buffer.lastIndexOf('&');
        if (amp >= position && buffer.indexOf(';', amp) === -1) keep = amp;
        else if (buffer.charCodeAt(length - 1) === CR) keep = length - 1;
        if (keep > position) this.text(buffer.slice(position, keep), position);
        position = keep;
        break;
      }
      if (lt > position) this.text(buffer.slice(position, lt), position);
      const end = this.markup(buffer, lt);
      if (end === -1) {
        position = lt;
        break;
      }
      position = end;
    }
    this.consumed = this.base + position;
    this.rest = position === length ? '' : buffer.slice(position);
    if (this.rest.length > MAX_PENDING_XML) {
      throw this.error(
        `${this.rest.charCodeAt(0) === LT ? 'a tag' : 'an entity'} longer than ${MAX_PENDING_XML} characters`,
        position,
      );
    }
  }

  /** Ends the input: fails when it stops inside a tag or an element, or holds no element at all. */
  close(): void {
    if (this.ended) return;
    this.base = this.consumed;
    if (this.rest !== '') {
      if (this.rest.charCodeAt(0) === LT)
        throw this.error(`input ends inside a tag ${excerpt(this.rest)}`, 0);
      this.text(this.rest, 0);
      this.consumed += this.rest.length;
      this.rest = '';
    }
    const open = this.stack.at(-1);
    if (open !== undefined) throw this.error(`input ends before </${open}>`, 0);
    if (!this.rootSeen) throw this.error('input holds no element', 0);
    this.ended = true;
  }

  private error(what: string, index: number): Error {
    return new Error(`Malformed XML at character ${this.base + index}: ${what}.`);
  }

  private text(raw: string, index: number): void {
    if (this.stack.length > 0) this.handler.text(raw);
    else if (!isWhitespace(raw)) throw this.error(`text outside the root element ${excerpt(raw)}`, index);
  }

  /** Handles the markup starting at `lt`: returns the index just past it, or -1 when it is incomplete. */
  private markup(buffer: string, lt: number): number {
    const next = buffer.charCodeAt(lt + 1);
    if (next === SLASH) return this.closeTag(buffer, lt);
    if (next === QUESTION) {
      const end = buffer.indexOf('?>', lt + 2);
      return end === -1 ? -1 : end + 2;
    }
    if (next === BANG) return this.declaration(buffer, lt);
    if (Number.isNaN(next)) return -1;
    return this.startTag(buffer, lt);
  }

  private startTag(buffer: string, lt: number): number {
    const length = buffer.length;
    if (!isNameStart(buffer.charCodeAt(lt + 1))) throw this.error('a tag without a valid name', lt);
    let colon = -1;
    let index = lt + 1;
    for (; index < length; index++) {
      const code = buffer.charCodeAt(index);
      if (code === GT || code === SLASH || isSpace(code)) break;
      if (code === COLON) colon = index;
      else if (code === LT || code === DOUBLE_QUOTE || code === SINGLE_QUOTE || code === EQUALS) {
        throw this.error(`a tag without a valid name ${excerpt(buffer.slice(lt, index + 1))}`, lt);
      }
    }
    const nameEnd = index;
    let quote = 0;
    for (; index < length; index++) {
      const code = buffer.charCodeAt(index);
      if (quote !== 0) {
        if (code === quote) quote = 0;
        else if (code === LT) throw this.error('"<" inside an attribute value', index);
      } else if (code === GT) break;
      else if (code === DOUBLE_QUOTE || code === SINGLE_QUOTE) quote = code;
      else if (code === LT) throw this.error(`unterminated tag ${excerpt(buffer.slice(lt, index))}`, lt);
    }
    if (index >= length) return -1;

    if (this.stack.length === 0) {
      if (this.rootSeen) throw this.error('a second root element', lt);
      this.rootSeen = true;
    }
    const selfClosing = buffer.charCodeAt(index - 1) === SLASH;
    const name = buffer.slice(lt + 1, nameEnd);
    const localName = colon === -1 ? name : buffer.slice(colon + 1, nameEnd);
    if (localName === '') throw this.error(`a tag without a valid name ${excerpt(name)}`, lt);
    const attributes = buffer.slice(nameEnd, selfClosing ? index - 1 : index);
    if (selfClosing) {
      this.handler.open(localName, attributes, true);
      this.handler.close(localName);
    } else {
      this.stack.push(name);
      this.handler.open(localName, attributes, false);
    }
    return index + 1;
  }

  private closeTag(buffer: string, lt: number): number {
    const gt = buffer.indexOf('>', lt + 2);
    if (gt === -1) return -1;
    let nameEnd = gt;
    while (nameEnd > lt + 2 && isSpace(buffer.charCodeAt(nameEnd - 1))) nameEnd--;
    const name = buffer.slice(lt + 2, nameEnd);
    const open = this.stack.at(-1);
    if (name !== open) {
      throw this.error(
        open === undefined
          ? `closing tag ${excerpt(`</${name}>`)} without an open element`
          : `closing tag ${excerpt(`</${name}>`)} where </${open}> was expected`,
        lt,
      );
    }
    this.stack.pop();
    const colon = name.indexOf(':');
    this.handler.close(colon === -1 ? name : name.slice(colon + 1));
    return gt + 1;
  }

  /** `<!--` comments (skipped), CDATA sections, and DOCTYPE (refused). */
  private declaration(buffer: string, lt: number): number {
    if (buffer.startsWith('<!--', lt)) {
      const end = buffer.indexOf('-->', lt + 4);
      return end === -1 ? -1 : end + 3;
    }
    if (buffer.startsWith('<![CDATA[', lt)) {
      if (this.stack.length === 0) throw this.error('a CDATA section outside the root element', lt);
      const end = buffer.indexOf(']]>', lt + 9);
      if (end === -1) return -1;
      this.handler.cdata(normaliseLineEnds(buffer.slice(lt + 9, end)));
      return end + 3;
    }
    if (buffer.startsWith('<!DOCTYPE', lt)) throw this.error('a DOCTYPE, which a workbook never has', lt);
    const start = buffer.slice(lt, lt + 9);
    if (start.length < 9 && ['<!--', '<![CDATA[', '<!DOCTYPE'].some((known) => known.startsWith(start))) {
      return -1;
    }
    throw this.error(`unknown markup ${excerpt(start)}`, lt);
  }
}

/** XML end-of-line handling: CR LF and lone CR become LF. */
function normaliseLineEnds(text: string): string {
  return text.indexOf('\r') === -1 ? text : text.replace(/\r\n?/g, '\n');
}

function isXmlChar(code: number): boolean {
  return (
    (code >= 0x20 && code <= 0xd7ff) ||
    code === TAB ||
    code === LF ||
    code === CR ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

/** The character a reference such as `amp`, `#233` or `#xE9` (between `&` and `;`) stands for. */
function entityText(name: string): string {
  switch (name) {
    case 'amp':
      return '&';
    case 'lt':
      return '<';
    case 'gt':
      return '>';
    case 'quot':
      return '"';
    case 'apos':
      return "'";
  }
  if (name.charCodeAt(0) !== 35 /* # */)
    throw new Error(`Malformed XML: unknown entity ${excerpt(`&${name};`)}.`);
  const hex = name.charCodeAt(1) === 120; /* x */
  let code = 0;
  let index = hex ? 2 : 1;
  if (index === name.length)
    throw new Error(`Malformed XML: empty character reference ${excerpt(`&${name};`)}.`);
  for (; index < name.length; index++) {
    const digit = name.charCodeAt(index);
    let value: number;
    if (digit >= 48 && digit <= 57) value = digit - 48;
    else if (hex && digit >= 97 && digit <= 102) value = digit - 87;
    else if (hex && digit >= 65 && digit <= 70) value = digit - 55;
    else value = -1;
    code = code * (hex ? 16 : 10) + value;
    if (value < 0 || code > 0x10ffff) {
      throw new Error(`Malformed XML: invalid character reference ${excerpt(`&${name};`)}.`);
    }
  }
  if (!isXmlChar(code)) {
    throw new Error(`Malformed XML: character reference ${excerpt(`&${name};`)} is not an XML character.`);
  }
  return String.fromCodePoint(code);
}

/**
 * Text as XML means it: entities (`&amp;`, `&#233;`, `&#xE9;`...) decoded, CR LF and lone CR written in
 * the file read as LF. Returns `raw` itself when it has neither `&` nor CR, as almost all cell text.
 */
export function decodeXmlText(raw: string): string {
  let amp = raw.indexOf('&');
  if (amp === -1) return normaliseLineEnds(raw);
  const hasCr = raw.indexOf('\r') !== -1;
  let text = '';
  let from = 0;
  while (amp !== -1) {
    text += hasCr ? normaliseLineEnds(raw.slice(from, amp)) : raw.slice(from, amp);
    const semicolon = raw.indexOf(';', amp + 1);
    if (semicolon === -1) throw new Error(`Malformed XML: unterminated entity ${excerpt(raw.slice(amp))}.`);
    text += entityText(raw.slice(amp + 1, semicolon));
    from = semicolon + 1;
    amp = raw.indexOf('&', from);
  }
  const tail = raw.slice(from);
  return text + (hasCr ? normaliseLineEnds(tail) : tail);
}

/**
 * An attribute value as XML means it: entities decoded, and tabs and line ends written in the file read
 * as spaces (XML attribute-value normalisation; `&#10;` stays a line feed).
 */
function decodeAttributeValue(raw: string): string {
  return decodeXmlText(raw.replace(/\r\n|[\t\n\r]/g, ' '));
}

/**
 * Calls `onAttribute` with each attribute of a tag (`attributes` as given to `XmlHandler.open`), in the
 * order written, with its value decoded. Names are as written, prefix included.
 */
export function readAttributes(attributes: string, onAttribute: (name: string, value: string) => void): void {
  const length = attributes.length;
  let index = 0;
  for (;;) {
    while (index < length && isSpace(attributes.charCodeAt(index))) index++;
    if (index >= length) return;
    const nameStart = index;
    let code = attributes.charCodeAt(index);
    while (index < length && code !== EQUALS && !isSpace(code)) {
      if (code === DOUBLE_QUOTE || code === SINGLE_QUOTE) break;
      code = attributes.charCodeAt(++index);
    }
    const nameEnd = index;
    while (index < length && isSpace(attributes.charCodeAt(index))) index++;
    if (nameEnd === nameStart || attributes.charCodeAt(index) !== EQUALS) {
      throw new Error(`Malformed XML: attribute without a value in ${excerpt(attributes.trim())}.`);
    }
    index++;
    while (index < length && isSpace(attributes.charCodeAt(index))) index++;
    const quote = attributes.charCodeAt(index);
    if (quote !== DOUBLE_QUOTE && quote !== SINGLE_QUOTE) {
      throw new Error(`Malformed XML: unquoted attribute value in ${excerpt(attributes.trim())}.`);
    }
    const valueStart = index + 1;
    let plain = true;
    for (index = valueStart; index < length; index++) {
      code = attributes.charCodeAt(index);
      if (code === quote) break;
      if (code === AMPERSAND || code === LF || code === CR || code === TAB) plain = false;
    }
    if (index >= length) {
      throw new Error(`Malformed XML: unterminated attribute value in ${excerpt(attributes.trim())}.`);
    }
    const raw = attributes.slice(valueStart, index);
    index++;
    if (index < length && !isSpace(attributes.charCodeAt(index))) {
      throw new Error(`Malformed XML: no space between attributes in ${excerpt(attributes.trim())}.`);
    }
    onAttribute(attributes.slice(nameStart, nameEnd), plain ? raw : decodeAttributeValue(raw));
  }
}
