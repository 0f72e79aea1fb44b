import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { type FileHandle, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { EntityManager } from '@provisioning/db';
import { DomainError, type LogFormat } from '@provisioning/shared';
import { exportRunLog, runLogInfo } from './log-export.ts';

/** A directory a log file could not be written in: the caller says which of its settings names it. */
export class LogDirectoryError extends Error {}

export interface WrittenLogFile {
  path: string;
  /** The download name: `Sync Logs - 15 Jan 2024 10.30pm.csv`. */
  fileName: string;
  bytes: number;
  rows: number;
}

/**
 * Writes a run's log into `dir` under its download name (the CLI's `logs export`, the Slack bot's DMs).
 * The file is written under a temporary name and renamed when complete, so a failure never leaves half a
 * file where the finished one belongs; an existing file of that name is replaced. With `organisationId`,
 * only that organisation's runs are found.
 */
export async function writeRunLogFile(options: {
  em: EntityManager;
  runId: string;
  format: LogFormat;
  dir: string;
  organisationId?: string;
}): Promise<WrittenLogFile> {
  const { em, runId, format, dir, organisationId } = options;
  const info = await runLogInfo(em, runId, { organisationId });
  if (info.kind === null) throw new DomainError('CONFLICT', info.unavailableReason);
  const fileName = info.fileName(format);
  let rows = 0;
  const path = await writeFileInto(dir, fileName, async (output) => {
    ({ rows } = await exportRunLog({ em, runId, format, output, organisationId }));
  });
  return { path, fileName, bytes: (await stat(path)).size, rows };
}

/**
 * Writes a file into `dir` under `name` through `write` and returns its path. The file is written under a
 * temporary name and renamed when complete, so a failure never leaves half a file where the finished one
 * belongs; an existing file of that name is replaced. Owner-only: logs hold people's names and emails.
 */
export async function writeFileInto(
  dir: string,
  name: string,
  write: (output: Writable) => Promise<unknown>,
): Promise<string> {
  const path = join(dir, name);
  const temporary = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle;
  try {
    handle = await open(temporary, 'wx', 0o600);
  } catch (error) {
    throw new LogDirectoryError(`cannot write in ${dir}: ${(error as Error).message}`);
  }
  // The stream closes the handle, after an fsync (flush), once the file is complete or has failed.
  const output = createWriteStream(temporary, { fd: handle, flush: true });
  try {
    await write(output);
    if (!output.closed) await once(output, 'close');
    await rename(temporary, path);
    return path;
  } catch (error) {
    if (!output.closed) {
      output.destroy();
      await once(output, 'close');
    }
    await rm(temporary, { force: true });
    throw error;
  }
}
