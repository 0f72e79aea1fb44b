import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { type FileHandle, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
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
  const path = join(dir, fileName);
  const temporary = join(dir, `.${fileName}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle;
  try {
    // Owner-only: the log holds people's names and emails.
    handle = await open(temporary, 'wx', 0o600);
  } catch (error) {
    throw new LogDirectoryError(`cannot write in ${dir}: ${(error as Error).message}`);
  }
  // The stream closes the handle, after an fsync (flush), once the file is complete or has failed.
  const output = createWriteStream(temporary, { fd: handle, flush: true });
  try {
    const { rows } = await exportRunLog({ em, runId, format, output, organisationId });
    if (!output.closed) await once(output, 'close');
    await rename(temporary, path);
    return { path, fileName, bytes: (await stat(path)).size, rows };
  } catch (error) {
    if (!output.closed) {
      output.destroy();
      await once(output, 'close');
    }
    await rm(temporary, { force: true });
    throw error;
  }
}
