import { describe, expect, it } from 'vitest';
import { decodeXmlText, MAX_PENDING_XML, readAttributes, XmlScanner } from './xml-scanner.ts';

type XmlEvent = ['open', string, string, boolean] | ['text', string] | ['cdata', string] | ['close', string];

function scan(chunks: string | readonly string[]): XmlEvent[] {
  const events: XmlEvent[] = [];
  const scanner = new XmlScanner({
    open: (name, attributes, selfClosing) => events.push(['open', name, attributes, selfClosing]),
    text: (raw) => events.push(['text', raw]),
    cdata: (text) => events.push(['cdata', text]),
    close: (name) => events.push(['close', name]),
  });
  for (const chunk of typeof chunks === 'string' ? [chunks] : chunks) scanner.write(chunk);
  scanner.close();
  return events;
}

/** The events as a handler sees them: each element's adjacent text calls decoded one by one and joined. */
function decodedEvents(events: XmlEvent[]): XmlEvent[] {
  const merged: XmlEvent[] = [];
  for (const event of events) {
    const last = merged.at(-1);
    if (event[0] === 'text' && last?.[0] === 'text') last[1] += decodeXmlText(event[1]);
    else merged.push(event[0] === 'text' ? ['text', decodeXmlText(event[1])] : event);
  }
  return merged;
}

function attributesOf(text: string): [string, string][] {
  const attributes: [string, string][] = [];
  readAttributes(text, (name, value) => attributes.push([name, value]));
  return attributes;
}

const SAMPLE =
  `\uFEFF<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n` +
  `<!-- written by a test -->` +
  `<x:worksheet xmlns:x="urn:main" a='1>2'>\n  <x:sheetData>` +
  `<x:row r="1" spans="1:3"><x:c r="A1" t="inlineStr"><x:is><x:t>caf&#233; &amp; bar\r\nline two\r</x:t></x:is></x:c>` +
  `<x:c r="B1"/><x:c r="C1" t="str"><x:v><![CDATA[a <b> &amp; ]] c]]></x:v></x:c></x:row >` +
  `<?pi inside?><x:row r="2"><x:c><x:v>4<!-- split -->2</x:v></x:c></x:row>` +
  `</x:sheetData>\n</x:worksheet>\n<!-- trailing -->\n`;

describe('XmlScanner', () => {
  it('reports tags by local name, their attribute text, text as written and CDATA, skipping comments and PIs', () => {
    expect(scan(SAMPLE)).toEqual([
      ['open', 'worksheet', ` xmlns:x="urn:main" a='1>2'`, false],
      ['text', '\n  '],
      ['open', 'sheetData', '', false],
      ['open', 'row', ' r="1" spans="1:3"', false],
      ['open', 'c', ' r="A1" t="inlineStr"', false],
      ['open', 'is', '', false],
      ['open', 't', '', false],
      ['text', 'caf&#233; &amp; bar\r\nline two\r'],
      ['close', 't'],
      ['close', 'is'],
      ['close', 'c'],
      ['open', 'c', ' r="B1"', true],
      ['close', 'c'],
      ['open', 'c', ' r="C1" t="str"', false],
      ['open', 'v', '', false],
      ['cdata', 'a <b> &amp; ]] c'],
      ['close', 'v'],
      ['close', 'c'],
      ['close', 'row'],
      ['open', 'row', ' r="2"', false],
      ['open', 'c', '', false],
      ['open', 'v', '', false],
      ['text', '4'],
      ['text', '2'],
      ['close', 'v'],
      ['close', 'c'],
      ['close', 'row'],
      ['close', 'sheetData'],
      ['text', '\n'],
      ['close', 'worksheet'],
    ]);
  });

  it('reports the same tags and text however the input is split, never splitting an entity or a CR LF', () => {
    const whole = decodedEvents(scan(SAMPLE));
    expect(whole).toContainEqual(['text', 'café & bar\nline two\n']);
    for (let split = 0; split <= SAMPLE.length; split++) {
      expect(decodedEvents(scan([SAMPLE.slice(0, split), SAMPLE.slice(split)])), `split at ${split}`).toEqual(
        whole,
      );
    }
    for (let first = 1; first < SAMPLE.length; first += 7) {
      const parts = [SAMPLE.slice(0, first)];
      for (let start = first; start < SAMPLE.length; start += 3) parts.push(SAMPLE.slice(start, start + 3));
      expect(decodedEvents(scan(parts)), `split at ${first} then every 3`).toEqual(whole);
    }
    expect(decodedEvents(scan([...SAMPLE]))).toEqual(whole);
  });

  it('finds the end of a tag past ">" and "/>" inside quoted attribute values', () => {
    expect(scan(`<a b="x>y" c='/>'><d e="/>"/></a>`)).toEqual([
      ['open', 'a', ` b="x>y" c='/>'`, false],
      ['open', 'd', ' e="/>"', true],
      ['close', 'd'],
      ['close', 'a'],
    ]);
  });

  it('matches closing tags by their full name, prefix included', () => {
    expect(scan('<x:a><y:a></y:a></x:a>')).toEqual([
      ['open', 'a', '', false],
      ['open', 'a', '', false],
      ['close', 'a'],
      ['close', 'a'],
    ]);
    expect(() => scan('<x:a></a>')).toThrow(/closing tag "<\/a>" where <\/x:a> was expected/);
  });

  it('refuses a DOCTYPE, so no entity can be declared or expanded', () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><a>&lol2;</a>`;
    expect(() => scan(bomb)).toThrow(/a DOCTYPE, which a workbook never has/);
    expect(() => scan(['<!DOC', 'TYPE a><a/>'])).toThrow(/a DOCTYPE, which a workbook never has/);
  });

  it('rejects closing tags that do not match the open element', () => {
    expect(() => scan('<a><b></a></b>')).toThrow(/closing tag "<\/a>" where <\/b> was expected/);
    expect(() => scan('<a></a></a>')).toThrow(/without an open element/);
    expect(() => scan('<a></b >')).toThrow(/expected/);
    // The position counts from the start of the input, across chunks.
    expect(() => scan(['<a><b', '></c>'])).toThrow(/^Malformed XML at character 6: /);
    expect(() => scan(['<a>text', ' more', '</c>'])).toThrow(/^Malformed XML at character 12: /);
  });

  it('rejects input that ends inside an element, a tag, a comment or a CDATA section', () => {
    expect(() => scan('<a><b></b>')).toThrow(/input ends before <\/a>/);
    expect(() => scan('<a><b></b>text')).toThrow(/input ends before <\/a>/);
    expect(() => scan('<a></a')).toThrow(/input ends inside a tag/);
    expect(() => scan('<a><b c="1'.split(''))).toThrow(/input ends inside a tag/);
    expect(() => scan('<a><!-- never closed</a>')).toThrow(/input ends inside a tag/);
    expect(() => scan('<a><![CDATA[ never closed</a>')).toThrow(/input ends inside a tag/);
    expect(() => scan('<a><!-')).toThrow(/input ends inside a tag/);
  });

  it('rejects tags without a valid name and a "<" where a tag or value cannot have one', () => {
    expect(() => scan('<a><></a>')).toThrow(/valid name/);
    expect(() => scan('<a>< b/></a>')).toThrow(/valid name/);
    expect(() => scan('<a><1b/></a>')).toThrow(/valid name/);
    expect(() => scan('<a><x:/></a>')).toThrow(/valid name/);
    expect(() => scan('<a><b c="1"<d/></a>')).toThrow(/unterminated tag/);
    expect(() => scan('<a><b c="1></b></a>')).toThrow(/"<" inside an attribute value/);
    expect(() => scan('<a><!ELEMENT a ANY></a>')).toThrow(/unknown markup/);
  });

  it('rejects a document with no element, two root elements, or text or CDATA outside the root', () => {
    expect(() => scan('')).toThrow(/no element/);
    expect(() => scan('<?xml version="1.0"?>\n<!-- c -->')).toThrow(/no element/);
    expect(() => scan('<a/><b/>')).toThrow(/second root element/);
    expect(() => scan('<a/>x')).toThrow(/text outside the root element/);
    expect(() => scan('x<a/>')).toThrow(/text outside the root element/);
    expect(() => scan('<![CDATA[x]]><a/>')).toThrow(/CDATA section outside the root element/);
  });

  it('passes long text on as it comes, so only the unpacking budget limits it', () => {
    const block = ' '.repeat(1024 * 1024);
    let received = 0;
    let calls = 0;
    const scanner = new XmlScanner({
      open() {},
      text: (raw) => {
        received += raw.length;
        calls++;
      },
      cdata() {},
      close() {},
    });
    scanner.write('<a>');
    for (let written = 0; written < 2 * MAX_PENDING_XML; written += block.length) scanner.write(block);
    scanner.write('</a>');
    scanner.close();
    expect(received).toBe(2 * MAX_PENDING_XML);
    expect(calls).toBe((2 * MAX_PENDING_XML) / block.length);
  });

  it.each([
    ['a tag', '<a><b c="', /a tag longer than/],
    ['a comment', '<a><!--', /a tag longer than/],
    ['an entity', '<a>x &', /an entity longer than/],
  ])('refuses to wait for the end of %s longer than its cap', (_what, start, message) => {
    const block = 'a'.repeat(1024 * 1024);
    const scanner = new XmlScanner({ open() {}, text() {}, cdata() {}, close() {} });
    scanner.write(start);
    expect(() => {
      for (let written = 0; written <= MAX_PENDING_XML; written += block.length) scanner.write(block);
    }).toThrow(message);
  });

  it('waits for the end of a tag just under the cap', () => {
    const block = 'a'.repeat(1024 * 1024);
    let value = '';
    const scanner = new XmlScanner({
      open: (name, attributes) => {
        if (name === 'b') readAttributes(attributes, (_name, text) => (value = text));
      },
      text() {},
      cdata() {},
      close() {},
    });
    scanner.write('<a><b c="');
    for (let written = 0; written + block.length < MAX_PENDING_XML; written += block.length)
      scanner.write(block);
    scanner.write('"/></a>');
    scanner.close();
    expect(value).toHaveLength(MAX_PENDING_XML - block.length);
  });

  it('refuses input written after close', () => {
    const scanner = new XmlScanner({ open() {}, text() {}, cdata() {}, close() {} });
    scanner.write('<a/>');
    scanner.close();
    expect(() => scanner.write('<b/>')).toThrow(/after its end/);
  });

  it('normalises line ends in CDATA but decodes nothing there', () => {
    expect(scan('<a><![CDATA[x\r\ny\rz&lt;]]></a>')).toContainEqual(['cdata', 'x\ny\nz&lt;']);
  });
});

describe('decodeXmlText', () => {
  it('returns text without "&" or CR as it is', () => {
    const raw = 'plain text, "quoted" > here\n';
    expect(decodeXmlText(raw)).toBe(raw);
  });

  it('decodes the predefined entities and decimal and hex character references', () => {
    expect(decodeXmlText('&amp;&lt;&gt;&quot;&apos; caf&#233; &#xE9;&#xe9; &#x1F600; &#0065;')).toBe(
      `&<>"' café éé 😀 A`,
    );
  });

  it('reads CR LF and lone CR as LF, but keeps a CR written as a character reference', () => {
    expect(decodeXmlText('a\r\nb\rc')).toBe('a\nb\nc');
    expect(decodeXmlText('a\r\n&amp;\rb&#13;&#10;')).toBe('a\n&\nb\r\n');
  });

  it.each([
    ['an unknown entity', 'a &nbsp; b', /unknown entity/],
    ['an entity named after an object property', '&constructor;', /unknown entity/],
    ['an unterminated entity', 'AT&T', /unterminated entity/],
    ['an empty character reference', '&#;', /empty character reference/],
    ['an empty hex character reference', '&#x;', /empty character reference/],
    ['a character reference with a non-digit', '&#12a;', /invalid character reference/],
    ['a character reference past Unicode', '&#x110000;', /invalid character reference/],
    ['a very long character reference', `&#${'9'.repeat(400)};`, /invalid character reference/],
    ['a reference to NUL', '&#0;', /not an XML character/],
    ['a reference to a lone surrogate', '&#xD800;', /not an XML character/],
    ['a reference to U+FFFE', '&#xFFFE;', /not an XML character/],
  ])('rejects %s', (_what, raw, message) => {
    expect(() => decodeXmlText(raw)).toThrow(message);
  });
});

describe('readAttributes', () => {
  it('gives each attribute in order, with its value decoded and prefix kept', () => {
    expect(attributesOf(` r="A1" t = 's'  x14ac:dyDescent="0.25" title="a &amp; b &#10;c"`)).toEqual([
      ['r', 'A1'],
      ['t', 's'],
      ['x14ac:dyDescent', '0.25'],
      ['title', 'a & b \nc'],
    ]);
  });

  it('reads tabs and line ends written in a value as spaces', () => {
    expect(attributesOf(`a="1\r\n2\t3\n4\r5"`)).toEqual([['a', '1 2 3 4 5']]);
  });

  it('gives nothing for an empty or blank attribute text', () => {
    expect(attributesOf('')).toEqual([]);
    expect(attributesOf(' \n ')).toEqual([]);
  });

  it.each([
    ['an attribute without a value', ' r', /without a value/],
    ['a value without a name', ' ="1"', /without a value/],
    ['an unquoted value', ' r=A1', /unquoted/],
    ['an unterminated value', ' r="A1', /unterminated attribute value/],
    ['attributes run together', ' r="A1"t="s"', /no space between attributes/],
    ['a bad entity in a value', ' r="&x;"', /unknown entity/],
  ])('rejects %s', (_what, text, message) => {
    expect(() => attributesOf(text)).toThrow(message);
  });
});
