import { describe, expect, test } from 'vitest';
import { findReportEntries } from './report-entries.ts';

/** The entries as the ranges give them, each parsed on its own. */
function entriesOf(document: string): unknown[] | null {
  const body = Buffer.from(document);
  const ranges = findReportEntries(body);
  if (ranges === null) return null;
  return ranges.starts.map((start, index) => JSON.parse(body.toString('utf8', start, ranges.ends[index])));
}

describe('finding the entries of a report document in its bytes', () => {
  test.each([
    ['a plain report', '{"Report_Entry":[{"Employee_ID":"E1"},{"Employee_ID":"E2"}]}'],
    [
      'spaces and line ends around everything',
      ' \r\n{ "Report_Entry" : [ {"a":1} ,\n {"b":[1,{"c":"}"}]} ] }\n',
    ],
    [
      'strings holding brackets, quotes, backslashes and other scripts',
      '{"Report_Entry":[{"Name":"Ł\\"uk]}asz\\\\","Title":"{[\\\\\\"]}"},{"x":"\\u00e9"}]}',
    ],
    [
      'other keys before and after',
      '{"Report_Definition":{"name":"x","prompts":[1,"]"]},"Report_Entry":[{"a":"b"}],"n":null}',
    ],
    ['an empty list', '{"Report_Entry":[]}'],
    ['entries that are not objects (the caller says so)', '{"Report_Entry":[1,"two",null,[3]]}'],
    ['a byte order mark', '\uFEFF{"Report_Entry":[{"a":"b"}]}'],
  ])('finds the same entries JSON.parse does: %s', (_what, document) => {
    expect(entriesOf(document)).toEqual(JSON.parse(document.replace(/^\uFEFF/, '')).Report_Entry);
  });

  test.each([
    ['no Report_Entry', '{"data":[]}'],
    ['Report_Entry not a list', '{"Report_Entry":{"a":1}}'],
    ['a second Report_Entry', '{"Report_Entry":[],"Report_Entry":[{"a":1}]}'],
    ['an escaped key', '{"Report\\u005fEntry":[{"a":1}]}'],
    ['bytes after the end', '{"Report_Entry":[{"a":1}]} x'],
    ['a list at the top', '[{"Report_Entry":[]}]'],
    ['a document cut short', '{"Report_Entry":[{"a":"b"},{"a":"'],
    ['an invalid value beside the entries', '{"Report_Entry":[],"n":tru}'],
    ['a missing comma', '{"Report_Entry":[{"a":1} {"a":2}]}'],
    ['an empty object', '{}'],
    ['a web page', '<!DOCTYPE html><html></html>'],
  ])('leaves %s to be parsed whole', (_what, document) => {
    expect(entriesOf(document)).toBeNull();
  });
});
