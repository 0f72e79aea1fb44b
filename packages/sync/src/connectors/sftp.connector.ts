import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { SftpSettings } from '@provisioning/shared';
import type { SFTPWrapper } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import { openTabularFile } from '../files/file-reader.ts';
import { formatBytes } from '../files/raw-rows.ts';
import { parseAllowList, vetHost } from './host-guard.ts';
import { withRetries } from './retry.ts';
import { type ConnectorTable, type LoadOptions, SourceError } from './source.ts';
import {
  digestFile,
  type SourceDescription,
  sftpOrigin,
  sourceFingerprint,
  withFingerprint,
} from './source-fingerprint.ts';

export interface SftpLoadOptions extends LoadOptions {
  /** Connection attempts when the network fails in a way worth retrying (refused, timeout, reset). Default 3. */
  connectAttempts?: number;
  /** Wait before the first retry; doubles on each further one. Default 1 s. */
  retryDelayMs?: number;
  /** How long the SSH handshake and login may take. Default 20 s. */
  readyTimeoutMs?: number;
  /** Where the downloaded file is kept until close(). Default the OS temp directory. */
  tempDir?: string;
  /** Told about each failed connection attempt that will be retried. */
  onRetry?: (error: SourceError, attempt: number) => void;
  /**
   * How long a download may go without receiving a byte before it is given up as stalled (a transient
   * error: the run is retried). Default 60 s.
   */
  idleTimeoutMs?: number;
}

/**
 * Downloads go to `<tmp>/provisioning-sftp-<run ID>-<random>`: a worker starting up removes the folders
 * of runs that are no longer in progress, which a killed worker left behind (each a full HR file).
 */
const DOWNLOAD_DIR_PREFIX = 'provisioning-sftp-';
const DOWNLOAD_DIR_RUN = /^provisioning-sftp-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-/;

/**
 * Removes the download folders in `dir` that belong to no run in progress (`inProgress` says which of the
 * run IDs found still are): a worker killed mid-run leaves its folder behind. Returns the folders removed.
 */
export async function removeLeftoverDownloads(
  inProgress: (runIds: string[]) => Promise<Set<string>>,
  dir: string = tmpdir(),
): Promise<string[]> {
  const folders = (await readdir(dir, { withFileTypes: true })).filter(
    (entry) => entry.isDirectory() && entry.name.startsWith(DOWNLOAD_DIR_PREFIX),
  );
  const runOf = (name: string) => DOWNLOAD_DIR_RUN.exec(name)?.[1];
  const live = await inProgress([...new Set(folders.flatMap((entry) => runOf(entry.name) ?? []))]);
  const leftovers = folders.filter((entry) => !live.has(runOf(entry.name) ?? ''));
  for (const entry of leftovers) await rm(join(dir, entry.name), { recursive: true, force: true });
  return leftovers.map((entry) => entry.name);
}

/** Unpacked workbooks may be this many times the download limit before the zip-bomb guard stops them. */
const UNCOMPRESSED_RATIO = 10;
const LISTED_FILES = 8;

/** OpenSSH's form of a host key fingerprint: SHA256 of the key blob, base64 without padding. */
export function openSshFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

const PUBLIC_ONLY = parseAllowList(undefined);

const normaliseFingerprint = (fingerprint: string) => fingerprint.trim().replace(/=+$/, '');

/** `*` and `?` in the file name (not in folders), matched the way a shell would; dotfiles only by a dot. */
function globPattern(name: string): RegExp | null {
  if (!/[*?]/.test(name)) return null;
  const body = name
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '[^/]*')
    .replaceAll('?', '[^/]');
  return new RegExp(`^${name.startsWith('.') ? '' : '(?!\\.)'}${body}$`);
}

function listFew(names: readonly string[]): string {
  const shown = names.slice(0, LISTED_FILES).join(', ');
  return names.length > LISTED_FILES ? `${shown} and ${names.length - LISTED_FILES} more` : shown;
}

interface ErrorDetails {
  code?: string | number;
  message: string;
}

const detailsOf = (error: unknown): ErrorDetails =>
  error instanceof Error
    ? { code: (error as NodeJS.ErrnoException).code, message: error.message }
    : { message: String(error) };

/**
 * Loads the configured file from an SFTP server: connects with the host key pinned, picks the file (the
 * newest match of a glob), downloads it to a temporary file within the size limit, then parses it as
 * CSV or XLSX. The connection is closed once the file is down; close() deletes the temporary file.
 */
export async function loadSftpSource(
  settings: SftpSettings,
  options: SftpLoadOptions = {},
): Promise<ConnectorTable> {
  const { host, port } = settings;
  const server = port === 22 ? host : `${host} (port ${port})`;
  const { client, sftp } = await connect(settings, options);
  let tempDir: string | undefined;
  try {
    const remotePath = await abortable(resolvePath(client, settings), options.signal);
    const origin = `${host}:${remotePath}`;
    const stat = client.stat(remotePath).catch((error: unknown) => {
      if (!isMissing(error)) throw sessionError(error, settings, `reading the details of ${remotePath}`);
      throw new SourceError('SourceNotFound', `${origin} disappeared before it could be downloaded.`, {
        hint: 'The file was probably being replaced by the export: the run can be retried.',
        transient: true,
        cause: error,
      });
    });
    const stats = await abortable(stat, options.signal);
    if (stats.isDirectory) {
      throw new SourceError('SourceNotFound', `${remotePath} on ${server} is a folder, not a file.`, {
        hint: 'Set path to the file itself, or to a pattern such as /outbound/employees_*.csv.',
      });
    }
    if (stats.size > settings.maxBytes)
      throw tooLarge(origin, `is ${formatBytes(stats.size)}`, settings.maxBytes);

    tempDir = await mkdtemp(
      join(options.tempDir ?? tmpdir(), `${DOWNLOAD_DIR_PREFIX}${options.runId ?? 'load'}-`),
    );
    const localPath = join(tempDir, posix.basename(remotePath).replace(/[^\w.-]/g, '_'));
    await abortable(
      download(client, sftp, { remotePath, localPath, expectedSize: stats.size }, settings, options),
      options.signal,
    );
    await client.end().catch(() => {});
    // The file as downloaded, before it is parsed: the source this run read, byte for byte.
    const read: SourceDescription = {
      connector: 'sftp',
      origin: sftpOrigin(host, port, remotePath),
      digest: await digestFile(localPath, options.signal),
    };

    const table = await openTabularFile(
      localPath,
      {
        format: settings.format,
        sheet: settings.sheet,
        delimiter: settings.delimiter,
        encoding: settings.encoding,
        maxRows: settings.maxRows,
        maxUncompressedBytes: settings.maxBytes * UNCOMPRESSED_RATIO,
        maxTextBytes: settings.maxTextBytes,
        signal: options.signal,
      },
      origin,
    ).catch((error: unknown) => {
      // Empty, without a header, corrupt, in another encoding: the file the run read is still known.
      if (error instanceof SourceError) error.fingerprint = sourceFingerprint(read, 0);
      throw error;
    });
    const dir = tempDir;
    return withFingerprint(
      {
        ...table,
        close: async () => {
          await table.close();
          await rm(dir, { recursive: true, force: true });
        },
      },
      read,
    );
  } catch (error) {
    await client.end().catch(() => {});
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Waits for `work` unless the signal aborts first, then rejects with the abort's reason at once. Ending
 * the client does not settle every pending request: a handshake waits out its readyTimeout, and a stat or
 * read may never answer once the connection is gone. The caller's cleanup ends the client.
 */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  work.catch(() => {});
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function tooLarge(origin: string, what: string, maxBytes: number): SourceError {
  return new SourceError(
    'SizeLimitExceeded',
    `${origin} ${what}, more than the ${formatBytes(maxBytes)} limit for this configuration (maxBytes).`,
    {
      hint: 'If files this large are expected, raise maxBytes in the configuration; otherwise check the export.',
    },
  );
}

async function connect(
  settings: SftpSettings,
  options: SftpLoadOptions,
): Promise<{ client: SftpClient; sftp: SFTPWrapper }> {
  const readyTimeout = options.readyTimeoutMs ?? 20_000;
  const pinned = normaliseFingerprint(settings.hostFingerprint);
  const attempt = async () => {
    let presented: string | undefined;
    // ssh2-sftp-client logs unexpected events to the console by default; errors surface through its promises.
    const client = new SftpClient('provisioning', { error: () => {}, end: () => {}, close: () => {} });
    const abort = () => void client.end().catch(() => {});
    options.signal?.addEventListener('abort', abort, { once: true });
    // SFTP is request/response: without TCP_NODELAY, Nagle's algorithm and delayed ACKs stall each round trip.
    client.on('connect', () =>
      (client as unknown as { client: { setNoDelay(on: boolean): void } }).client.setNoDelay(true),
    );
    try {
      // The address vetted is the one connected to: a second DNS answer cannot swap it (rebinding).
      const address = await vetHost(settings.host, options.allowList ?? PUBLIC_ONLY);
      const connecting = client.connect({
        host: address,
        port: settings.port,
        username: settings.username,
        password: settings.password,
        privateKey: settings.privateKey,
        passphrase: settings.passphrase,
        readyTimeout,
        // A server that stops answering mid-transfer is dropped instead of hanging the run.
        keepaliveInterval: 10_000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          presented = openSshFingerprint(key);
          return presented === pinned;
        },
      });
      const sftp = await abortable(connecting, options.signal);
      return { client, sftp };
    } catch (error) {
      await client.end().catch(() => {});
      options.signal?.throwIfAborted();
      if (error instanceof SourceError) throw error;
      throw connectError(error, settings, presented, pinned, readyTimeout);
    } finally {
      options.signal?.removeEventListener('abort', abort);
    }
  };
  return withRetries(attempt, (error) => (error instanceof SourceError && error.transient ? {} : false), {
    attempts: options.connectAttempts ?? 3,
    retryDelayMs: options.retryDelayMs,
    signal: options.signal,
    onRetry: (error, attemptNumber) => options.onRetry?.(error as SourceError, attemptNumber),
  });
}

function connectError(
  error: unknown,
  settings: SftpSettings,
  presented: string | undefined,
  pinned: string,
  readyTimeout: number,
): SourceError {
  const { host, port } = settings;
  const { code, message } = detailsOf(error);
  if (presented !== undefined && presented !== pinned) {
    return new SourceError(
      'HostKeyMismatch',
      `The SFTP server ${host} presented the host key ${presented}, but the configuration expects ${settings.hostFingerprint}. The connection was stopped before logging in.`,
      {
        hint: 'Check the host fingerprint with the SFTP provider; if the server key was rotated, update hostFingerprint. If it was not, the connection may be intercepted: do not change the setting until the provider confirms.',
        cause: error,
      },
    );
  }
  const unreachable = (what: string, hint: string) =>
    new SourceError('SourceUnreachable', `Could not connect to ${host} port ${port}: ${what}.`, {
      hint,
      transient: true,
      cause: error,
    });
  const networkHint =
    'Check host and port in the configuration, that the SFTP server is running, and that it accepts connections from this service (firewall, IP allow-list).';
  switch (code) {
    case 'ECONNREFUSED':
      return unreachable('the connection was refused', networkHint);
    case 'ETIMEDOUT':
      return unreachable('the connection timed out', networkHint);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return unreachable('the host cannot be reached from this network', networkHint);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return unreachable(
        'the host name could not be resolved (DNS)',
        'Check the spelling of host in the configuration.',
      );
    case 'ECONNRESET':
    case 'EPIPE':
      return unreachable('the server closed the connection during the handshake', networkHint);
  }
  if (/timed out while waiting for handshake/i.test(message)) {
    return unreachable(`no SSH handshake within ${readyTimeout / 1000} seconds`, networkHint);
  }
  if (/authentication methods failed|authentication failed/i.test(message)) {
    const credential = settings.privateKey !== undefined ? 'private key' : 'password';
    return new SourceError(
      'AuthFailed',
      `The SFTP server ${host} rejected the login of user "${settings.username}" with the configured ${credential}.`,
      {
        hint: `Check the username and ${credential} with the SFTP provider; the credentials may have expired or been changed.`,
        cause: error,
      },
    );
  }
  if (/privateKey|passphrase|private key/i.test(message)) {
    const problem = /bad passphrase|integrity check failed|decrypt/i.test(message)
      ? 'its passphrase is wrong'
      : /no passphrase given/i.test(message)
        ? 'it is encrypted and no passphrase is configured'
        : `it is not a private key in a supported format (${message.replace(/^Cannot parse privateKey: /, '').replace(/[.?]+$/, '')})`;
    return new SourceError('AuthFailed', `The configured private key could not be used: ${problem}.`, {
      hint: 'Enter the whole private key (OpenSSH or PEM format, from its BEGIN line to its END line) and its passphrase, if it has one.',
      cause: error,
    });
  }
  if (/handshake failed|no matching/i.test(message)) {
    return new SourceError(
      'SourceUnreachable',
      `Could not agree on encryption with ${host} port ${port}: ${message}.`,
      {
        hint: 'Check that host and port point to an SFTP (SSH) server; if they do, ask the provider which algorithms it supports.',
        cause: error,
      },
    );
  }
  return unreachable(
    `the connection failed (${message.replace(/^getConnection: /, '')})`,
    `${networkHint} If it persists, contact support.`,
  );
}

/** An error from an SFTP request after login: missing file, no permission, or the connection lost. */
function sessionError(error: unknown, settings: SftpSettings, doing: string): SourceError {
  const { code, message } = detailsOf(error);
  if (code === 'EACCES' || code === 3 || /permission denied/i.test(message)) {
    return new SourceError(
      'AuthFailed',
      `The SFTP user "${settings.username}" is not allowed to read ${settings.path} on ${settings.host} (permission denied while ${doing}).`,
      {
        hint: 'Ask the SFTP provider to give this user read access to the folder and its files.',
        cause: error,
      },
    );
  }
  return new SourceError(
    'Interrupted',
    `The connection to ${settings.host} failed while ${doing}: ${message}.`,
    {
      hint: 'Usually a passing network problem: the run can be retried. If it keeps happening, check the SFTP server.',
      transient: true,
      cause: error,
    },
  );
}

const isMissing = (error: unknown) => {
  const { code, message } = detailsOf(error);
  return code === 'ENOENT' || code === 2 || /no such file/i.test(message);
};

async function filesIn(client: SftpClient, dir: string, settings: SftpSettings) {
  try {
    const entries = await client.list(dir);
    return entries.filter((entry) => entry.type === '-' || entry.type === 'l');
  } catch (error) {
    if (!isMissing(error)) throw sessionError(error, settings, `listing ${dir}`);
    throw new SourceError('SourceNotFound', `The folder ${dir} does not exist on ${settings.host}.`, {
      hint: 'Check the path in the configuration with the SFTP provider.',
      cause: error,
    });
  }
}

/** The file to load: the path itself, or the newest file matching the pattern in its last segment. */
async function resolvePath(client: SftpClient, settings: SftpSettings): Promise<string> {
  const path = posix.normalize(settings.path);
  const dir = posix.dirname(path);
  const name = posix.basename(path);
  if (/[*?]/.test(dir)) {
    throw new SourceError('SourceNotFound', `The path ${settings.path} has a wildcard in a folder name.`, {
      hint: 'Wildcards (* and ?) are only supported in the file name, e.g. /outbound/employees_*.csv.',
    });
  }
  const pattern = globPattern(name);
  if (!pattern) {
    const exists = await client.exists(path).catch((error: unknown) => {
      throw sessionError(error, settings, `looking for ${path}`);
    });
    if (exists) return path;
    const files = await filesIn(client, dir, settings);
    const there =
      files.length > 0 ? ` Files in ${dir}: ${listFew(files.map((file) => file.name).sort())}.` : '';
    throw new SourceError('SourceNotFound', `The file ${path} does not exist on ${settings.host}.${there}`, {
      hint: 'Check the path in the configuration, and that the export that writes the file has run.',
    });
  }

  const files = await filesIn(client, dir, settings);
  const matches = files.filter((file) => pattern.test(file.name));
  if (matches.length === 0) {
    const there =
      files.length > 0
        ? ` Files there: ${listFew(files.map((file) => file.name).sort())}.`
        : ' The folder has no files.';
    throw new SourceError(
      'SourceNotFound',
      `No file in ${dir} on ${settings.host} matches ${name}.${there}`,
      {
        hint: 'Check the path pattern in the configuration, and that the export that writes the file has run.',
      },
    );
  }
  // Newest by modification time; on a tie the name sorting last (date-stamped names sort by date).
  matches.sort((a, b) => b.modifyTime - a.modifyTime || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
  return posix.join(dir, matches[0]!.name);
}

/**
 * Downloads with parallel reads (ssh2's fastGet: a few requests in flight instead of one round trip per
 * 32 KB), straight to disk. The byte cap holds while it runs: fastGet reads the size it measures itself,
 * and the connection is cut if that is over the limit.
 */
async function download(
  client: SftpClient,
  sftp: SFTPWrapper,
  { remotePath, localPath, expectedSize }: { remotePath: string; localPath: string; expectedSize: number },
  settings: SftpSettings,
  { signal, onProgress, idleTimeoutMs = 60_000 }: SftpLoadOptions,
): Promise<void> {
  const origin = `${settings.host}:${remotePath}`;
  let received = 0;
  let overLimit = 0;
  let stalled = false;
  const cut = () => void client.end().catch(() => {});
  let lost: ((error?: Error) => void) | undefined;
  signal?.addEventListener('abort', cut, { once: true });
  // A file cut shorter while it is read makes ssh2 ask for the missing bytes again and again, answered by
  // EOF each time: only a clock on the bytes that actually arrive tells such a download from a slow one.
  let idle: NodeJS.Timeout | undefined;
  const watch = () => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      stalled = true;
      cut();
    }, idleTimeoutMs);
  };
  watch();
  try {
    // ssh2's own fastGet: ssh2-sftp-client's wrapper refuses a path that is a symbolic link. Its callback
    // never comes when the connection drops, so the connection's own events end the wait too.
    await new Promise<void>((done, fail) => {
      lost = (error?: Error) => fail(error ?? new Error('the connection closed'));
      client.on('close', lost);
      client.on('end', lost);
      client.on('error', lost);
      sftp.fastGet(
        remotePath,
        localPath,
        {
          concurrency: 16,
          chunkSize: 32 * 1024,
          step: (transferred, _chunk, total) => {
            if (transferred > received) {
              received = transferred;
              watch();
              onProgress?.({ bytes: transferred });
            }
            // The file may have grown since it was measured: the limit holds for what is actually read.
            if (Math.max(total, transferred) > settings.maxBytes && overLimit === 0) {
              overLimit = Math.max(total, transferred);
              cut();
            }
          },
        },
        (error) => (error ? fail(error) : done()),
      );
    });
  } catch (error) {
    if (overLimit > 0) throw tooLarge(origin, `grew to ${formatBytes(overLimit)}`, settings.maxBytes);
    signal?.throwIfAborted();
    if (stalled) throw stalledDownload(origin, received, expectedSize, idleTimeoutMs, error);
    if (isMissing(error)) {
      throw new SourceError('SourceNotFound', `${origin} disappeared before it could be downloaded.`, {
        hint: 'The file was probably being replaced by the export: the run can be retried.',
        transient: true,
        cause: error,
      });
    }
    const { code, message } = detailsOf(error);
    if (code === 'EACCES' || code === 3 || /permission denied/i.test(message)) {
      throw sessionError(error, settings, `downloading ${remotePath}`);
    }
    throw interrupted(origin, received, expectedSize, error);
  } finally {
    clearTimeout(idle);
    signal?.removeEventListener('abort', cut);
    if (lost) for (const event of ['close', 'end', 'error']) client.removeListener(event, lost);
  }
  const size = (await stat(localPath)).size;
  if (size > settings.maxBytes) throw tooLarge(origin, `grew to ${formatBytes(size)}`, settings.maxBytes);
  if (size < expectedSize) throw interrupted(origin, size, expectedSize);
}

function stalledDownload(
  origin: string,
  received: number,
  expected: number,
  idleTimeoutMs: number,
  cause: unknown,
): SourceError {
  return new SourceError(
    'Interrupted',
    `The download of ${origin} (${formatBytes(expected)}) stalled after ${formatBytes(received)}: no data arrived for ${idleTimeoutMs / 1000} seconds. The file may have been rewritten or cut short while it was read.`,
    {
      hint: 'Usually an export still writing the file, or a server that stopped sending: the run is retried. If it keeps happening, make the export write under a temporary name and rename it when complete.',
      transient: true,
      cause,
    },
  );
}

function interrupted(origin: string, received: number, expected: number, cause?: unknown): SourceError {
  return new SourceError(
    'Interrupted',
    `The download of ${origin} (${formatBytes(expected)}) stopped ${received > 0 ? `after ${formatBytes(received)}` : 'before it completed'}: the connection dropped or the file changed while it was read.`,
    {
      hint: 'Usually a passing network problem or an export still writing the file: the run can be retried. If it keeps happening, check the SFTP server and when the export runs.',
      transient: true,
      cause,
    },
  );
}
