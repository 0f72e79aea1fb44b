import { describe, expect, it } from 'vitest';
import { parseSyncLogs } from './sync-logs-command.ts';

const RUN = '3f2b8c1e-0d4a-4b7e-9a6f-1c2d3e4f5a6b';

describe('parseSyncLogs', () => {
  it('reads nothing as the latest run with a log, as CSV', () => {
    expect(parseSyncLogs('')).toEqual({ kind: 'log', target: { kind: 'latest' }, format: 'csv' });
    expect(parseSyncLogs('  latest  ')).toEqual({ kind: 'log', target: { kind: 'latest' }, format: 'csv' });
  });

  it('reads a format alone or after the target, in any case', () => {
    expect(parseSyncLogs('XLSX')).toEqual({ kind: 'log', target: { kind: 'latest' }, format: 'xlsx' });
    expect(parseSyncLogs('latest xlsx')).toEqual({ kind: 'log', target: { kind: 'latest' }, format: 'xlsx' });
    expect(parseSyncLogs(`${RUN.toUpperCase()} csv`)).toEqual({
      kind: 'log',
      target: { kind: 'run', runId: RUN },
      format: 'csv',
    });
  });

  it('reads a configuration name in straight or typographic quotes', () => {
    expect(parseSyncLogs('"HR export (SFTP)" xlsx')).toEqual({
      kind: 'log',
      target: { kind: 'configuration', name: 'HR export (SFTP)' },
      format: 'xlsx',
    });
    expect(parseSyncLogs('“HR export”')).toMatchObject({
      target: { kind: 'configuration', name: 'HR export' },
    });
  });

  it('reads help, link and unlink', () => {
    expect(parseSyncLogs('help')).toEqual({ kind: 'help' });
    expect(parseSyncLogs('LINK')).toEqual({ kind: 'link' });
    expect(parseSyncLogs('unlink')).toEqual({ kind: 'unlink' });
  });

  it('says what is wrong with anything else', () => {
    expect(parseSyncLogs('HR export')).toMatchObject({
      kind: 'invalid',
      problem: expect.stringContaining('in quotes'),
    });
    expect(parseSyncLogs('latest pdf')).toMatchObject({
      kind: 'invalid',
      problem: expect.stringContaining('csv or xlsx'),
    });
    expect(parseSyncLogs('"unclosed')).toMatchObject({ kind: 'invalid' });
    expect(parseSyncLogs('x'.repeat(301))).toMatchObject({
      kind: 'invalid',
      problem: 'That is longer than any request.',
    });
  });
});
