import { describe, expect, it } from 'vitest';
import { CONNECTORS } from './connectors.ts';
import { DomainError, parseInput } from './errors.ts';
import { RunListFilterSchema, RunListInputSchema } from './run-list.ts';

function issuesOf(value: unknown) {
  const result = RunListFilterSchema.safeParse(value);
  expect(result.success).toBe(false);
  return result.error!.issues.map((issue) => ({ path: issue.path, message: issue.message }));
}

describe('the runs filter’s sources', () => {
  it('lists every source when none is chosen', () => {
    expect(RunListFilterSchema.parse({}).sources).toEqual([]);
    expect(RunListInputSchema.parse({}).filter.sources).toEqual([]);
  });

  it('accepts each source, and several at once', () => {
    for (const source of CONNECTORS) {
      expect(RunListFilterSchema.parse({ sources: [source] }).sources).toEqual([source]);
    }
    expect(RunListFilterSchema.parse({ sources: ['workday', 'sftp'] }).sources).toEqual(['workday', 'sftp']);
  });

  it('reads a source given twice once', () => {
    expect(RunListFilterSchema.parse({ sources: ['sftp', 'workday', 'sftp'] }).sources).toEqual([
      'sftp',
      'workday',
    ]);
  });

  it('refuses an unknown source with the choices, on the source’s own place in the list', () => {
    expect(issuesOf({ sources: ['sftp', 'Workday', 'bamboohr'] })).toEqual([
      { path: ['sources', 1], message: 'Source must be one of: sftp, workday, google-workspace' },
      { path: ['sources', 2], message: 'Source must be one of: sftp, workday, google-workspace' },
    ]);
  });

  it('refuses a source that is not a string, or sources that are not a list', () => {
    expect(issuesOf({ sources: [42] })[0]?.path).toEqual(['sources', 0]);
    expect(issuesOf({ sources: 'sftp' })[0]?.path).toEqual(['sources']);
    expect(issuesOf({ sources: null })[0]?.path).toEqual(['sources']);
  });

  it('does not echo a hostile or oversized value back in the error', () => {
    const hostile = `sftp'; drop table sync_run; --${'x'.repeat(100_000)}`;
    const error = (() => {
      try {
        parseInput(RunListInputSchema, { filter: { sources: [hostile] } }, 'Runs filter');
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(DomainError);
    const domainError = error as DomainError;
    expect(domainError.code).toBe('BAD_INPUT');
    expect(domainError.fieldErrors).toEqual({
      'filter.sources.0': ['Source must be one of: sftp, workday, google-workspace'],
    });
    expect(domainError.message.length).toBeLessThan(500);
  });

  it('refuses an oversized list at once, without a message per item', () => {
    const many = Array.from({ length: 100_000 }, () => 'not-a-source');
    expect(issuesOf({ sources: many })).toEqual([{ path: ['sources'], message: 'Too many sources' }]);
    // Twice each source still passes: a link built by hand may repeat itself.
    expect(RunListFilterSchema.parse({ sources: [...CONNECTORS, ...CONNECTORS] }).sources).toEqual([
      ...CONNECTORS,
    ]);
  });

  it('refuses a misspelt key instead of ignoring it', () => {
    expect(issuesOf({ source: ['sftp'] })).toEqual([{ path: [], message: expect.stringMatching(/source/) }]);
  });
});
