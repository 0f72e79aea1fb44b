import { createHash, timingSafeEqual } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { posix, relative, resolve, sep } from 'node:path';
import ssh2, { type Attributes, type AuthContext, type Connection, type SFTPWrapper } from 'ssh2';

const { Server, utils } = ssh2;
const { OPEN_MODE, STATUS_CODE } = utils.sftp;

export interface SftpServerOptions {
  /** Local directory served as the SFTP root `/`; read-only. */
  root: string;
  username: string;
  password?: string;
  /** An OpenSSH public key line (`ssh-ed25519 AAAA...`) or a private key, whose public half is accepted. */
  publicKey?: string | Buffer;
  /** Destroys the connection once it has sent this many bytes of file data: a drop mid-download. */
  dropAfterBytes?: number;
  /**
   * Once this many bytes of a file are sent, truncates the file on disk to that length: an export that
   * rewrites the file shorter while it is downloaded. Reads past the new end then answer EOF.
   */
  truncateAfterBytes?: number;
  /** The host's private key (OpenSSH or PEM); default a fresh ed25519 key, so a new fingerprint each start. */
  hostKey?: string;
  /** Default: any free port. */
  port?: number;
}

export interface SftpServer {
  host: string;
  port: number;
  /** OpenSSH form of the server's host key fingerprint: `SHA256:` + unpadded base64 of the key blob's SHA-256. */
  hostFingerprint: string;
  stop(): Promise<void>;
}

/** OpenSSH's `SHA256:` fingerprint of a public key blob (the wire form, as in `ssh-keygen -lf`). */
export function sshFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** A fresh ed25519 key pair; `fingerprint` is what `hostFingerprint` settings pin. */
export function generateSshKeyPair(passphrase?: string): {
  privateKey: string;
  publicKey: string;
  fingerprint: string;
} {
  // ssh2's generator strips every leading zero byte from the 32-byte ed25519 public key, so about one
  // pair in 256 comes out malformed and its own parser rejects it. Such a pair is drawn again.
  for (;;) {
    const pair = passphrase
      ? utils.generateKeyPairSync('ed25519', { passphrase, cipher: 'aes256-cbc', rounds: 16 })
      : utils.generateKeyPairSync('ed25519');
    const blob = publicBlob(pair.public);
    if (blob === null) continue;
    return { privateKey: pair.private, publicKey: pair.public, fingerprint: sshFingerprint(blob) };
  }
}

function publicBlob(key: string | Buffer): Buffer | null {
  const parsed = utils.parseKey(key);
  return parsed instanceof Error ? null : parsed.getPublicSSH();
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Maps an SFTP path onto the served directory. Returns null for a path that climbs above the root
 * (`/../etc/passwd`): refused, not clamped, so a test can tell traversal from a missing file.
 */
function virtualToLocal(root: string, requested: string): { local: string; virtual: string } | null {
  const segments: string[] = [];
  for (const segment of requested.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (segments.length === 0) return null;
      segments.pop();
    } else {
      segments.push(segment);
    }
  }
  const local = resolve(root, ...segments);
  const rel = relative(root, local);
  if (rel.startsWith('..') || rel.includes(`..${sep}`)) return null;
  return { local, virtual: posix.join('/', ...segments) };
}

function toAttributes(stats: Stats): Attributes {
  return {
    mode: stats.mode,
    uid: stats.uid,
    gid: stats.gid,
    size: stats.size,
    atime: Math.floor(stats.atimeMs / 1000),
    mtime: Math.floor(stats.mtimeMs / 1000),
  };
}

/** `ls -l` style line; ssh2-sftp-client's list() reads the entry type from its first character. */
function longName(name: string, stats: Stats): string {
  const type = stats.isDirectory() ? 'd' : stats.isSymbolicLink() ? 'l' : '-';
  const bits = ['r', 'w', 'x'];
  let rights = '';
  for (let i = 8; i >= 0; i--) rights += stats.mode & (1 << i) ? bits[(8 - i) % 3] : '-';
  const date = stats.mtime.toUTCString().slice(5, 22);
  return `${type}${rights} 1 sftp sftp ${String(stats.size).padStart(10)} ${date} ${name}`;
}

type OpenHandle =
  | { kind: 'file'; file: fs.FileHandle; path: string }
  | { kind: 'dir'; entries: { filename: string; longname: string; attrs: Attributes }[]; sent: boolean };

/**
 * A real SFTP server on loopback for tests: ssh2's `Server` with the sftp subsystem answered by ssh2's
 * SFTP handlers over a local directory, read-only. Each server has its own ed25519 host key.
 */
export async function startSftpServer(options: SftpServerOptions): Promise<SftpServer> {
  const root = await fs.realpath(options.root);
  const hostKey = options.hostKey ?? generateSshKeyPair().privateKey;
  const hostBlob = publicBlob(hostKey);
  if (hostBlob === null) throw new Error('The SFTP test server was given a host key ssh2 cannot read');
  const hostFingerprint = sshFingerprint(hostBlob);
  const allowedKey = options.publicKey === undefined ? null : utils.parseKey(options.publicKey);
  if (allowedKey instanceof Error) throw allowedKey;

  // Our own TCP server hands sockets to ssh2, so a test can cut one off like a network drop would.
  const sockets = new Map<number, Socket>();
  const ssh = new Server({ hostKeys: [hostKey] }, (client: Connection, info) => {
    const socket = sockets.get(info.port);
    client.on('error', () => {});
    client.on('authentication', (ctx: AuthContext) => {
      if (ctx.username !== options.username) return ctx.reject();
      if (ctx.method === 'password' && options.password !== undefined) {
        return sameSecret(ctx.password, options.password) ? ctx.accept() : ctx.reject();
      }
      if (ctx.method === 'publickey' && allowedKey) {
        const sameKey = ctx.key.algo === allowedKey.type && ctx.key.data.equals(allowedKey.getPublicSSH());
        if (!sameKey) return ctx.reject();
        // Without a signature the client only asks whether the key would do.
        if (!ctx.signature || !ctx.blob) return ctx.accept();
        return allowedKey.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true
          ? ctx.accept()
          : ctx.reject();
      }
      const methods: ('password' | 'publickey')[] = [];
      if (options.password !== undefined) methods.push('password');
      if (allowedKey) methods.push('publickey');
      return ctx.reject(methods);
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('sftp', (acceptSftp) => {
          serveSftp(acceptSftp(), root, {
            drop: () => {
              socket?.destroy();
            },
            dropAfterBytes: options.dropAfterBytes,
            truncateAfterBytes: options.truncateAfterBytes,
          });
        });
      });
    });
  });

  const tcp = createServer((socket) => {
    const port = socket.remotePort;
    if (port !== undefined) {
      sockets.set(port, socket);
      socket.once('close', () => sockets.delete(port));
    }
    socket.on('error', () => {});
    // Without it, Nagle's algorithm and delayed ACKs add tens of milliseconds to every SFTP round trip.
    socket.setNoDelay(true);
    ssh.injectSocket(socket);
  });
  await new Promise<void>((done, fail) => {
    tcp.once('error', fail);
    tcp.listen(options.port ?? 0, '127.0.0.1', () => done());
  });
  const address = tcp.address();
  if (typeof address !== 'object' || address === null) throw new Error('SFTP server has no address');

  return {
    host: '127.0.0.1',
    port: address.port,
    hostFingerprint,
    stop: () =>
      new Promise<void>((done) => {
        for (const socket of sockets.values()) socket.destroy();
        tcp.close(() => done());
      }),
  };
}

function serveSftp(
  sftp: SFTPWrapper,
  root: string,
  {
    drop,
    dropAfterBytes,
    truncateAfterBytes,
  }: { drop: () => void; dropAfterBytes: number | undefined; truncateAfterBytes: number | undefined },
) {
  const handles = new Map<number, OpenHandle>();
  let nextHandle = 1;
  let fileBytesSent = 0;
  let truncated = false;

  const newHandle = (value: OpenHandle): Buffer => {
    const id = nextHandle++;
    handles.set(id, value);
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32BE(id);
    return buffer;
  };
  const handleOf = (buffer: Buffer) => (buffer.length === 4 ? handles.get(buffer.readUInt32BE()) : undefined);

  /** Resolves a path, refusing traversal above the root and symlinks that lead outside it. */
  const locate = async (requested: string) => {
    const target = virtualToLocal(root, requested);
    if (!target) return null;
    try {
      const real = await fs.realpath(target.local);
      const rel = relative(root, real);
      if (rel.startsWith('..') || rel.includes(`..${sep}`)) return null;
    } catch {
      // Missing: the operation itself reports NO_SUCH_FILE.
    }
    return target;
  };

  const fail = (reqid: number, error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
    if (code === 'EACCES' || code === 'EPERM') return sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED);
    return sftp.status(reqid, STATUS_CODE.FAILURE, String((error as Error).message));
  };

  sftp.on('OPEN', async (reqid, filename, flags) => {
    const writing = OPEN_MODE.WRITE | OPEN_MODE.APPEND | OPEN_MODE.CREAT | OPEN_MODE.TRUNC | OPEN_MODE.EXCL;
    if (flags & writing) return sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, 'read-only server');
    const target = await locate(filename);
    if (!target) return sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, 'outside the served root');
    try {
      const file = await fs.open(target.local, 'r');
      if ((await file.stat()).isDirectory()) {
        await file.close();
        return sftp.status(reqid, STATUS_CODE.FAILURE, 'is a directory');
      }
      sftp.handle(reqid, newHandle({ kind: 'file', file, path: target.local }));
    } catch (error) {
      fail(reqid, error);
    }
  });

  sftp.on('READ', async (reqid, handle, offset, length) => {
    const open = handleOf(handle);
    if (open?.kind !== 'file') return sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await open.file.read(buffer, 0, length, offset);
      if (bytesRead === 0) return sftp.status(reqid, STATUS_CODE.EOF);
      if (dropAfterBytes !== undefined && fileBytesSent + bytesRead > dropAfterBytes) {
        const allowed = Math.max(0, dropAfterBytes - fileBytesSent);
        fileBytesSent += allowed;
        if (allowed > 0) sftp.data(reqid, buffer.subarray(0, allowed));
        // Let the partial reply leave before the cable is pulled.
        setImmediate(drop);
        return;
      }
      fileBytesSent += bytesRead;
      sftp.data(reqid, buffer.subarray(0, bytesRead));
      if (truncateAfterBytes !== undefined && fileBytesSent >= truncateAfterBytes && !truncated) {
        truncated = true;
        await fs.truncate(open.path, truncateAfterBytes);
      }
    } catch (error) {
      fail(reqid, error);
    }
  });

  sftp.on('CLOSE', async (reqid, handle) => {
    const open = handleOf(handle);
    if (!open) return sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
    handles.delete(handle.readUInt32BE());
    if (open.kind === 'file') await open.file.close().catch(() => {});
    sftp.status(reqid, STATUS_CODE.OK);
  });

  const statPath = (follow: boolean) => async (reqid: number, path: string) => {
    const target = await locate(path);
    if (!target) return sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, 'outside the served root');
    try {
      sftp.attrs(reqid, toAttributes(follow ? await fs.stat(target.local) : await fs.lstat(target.local)));
    } catch (error) {
      fail(reqid, error);
    }
  };
  sftp.on('STAT', statPath(true));
  sftp.on('LSTAT', statPath(false));

  sftp.on('FSTAT', async (reqid, handle) => {
    const open = handleOf(handle);
    if (open?.kind !== 'file') return sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
    try {
      sftp.attrs(reqid, toAttributes(await open.file.stat()));
    } catch (error) {
      fail(reqid, error);
    }
  });

  sftp.on('OPENDIR', async (reqid, path) => {
    const target = await locate(path);
    if (!target) return sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, 'outside the served root');
    try {
      const names = await fs.readdir(target.local);
      const entries = await Promise.all(
        names.map(async (filename) => {
          const stats = await fs.lstat(resolve(target.local, filename));
          return { filename, longname: longName(filename, stats), attrs: toAttributes(stats) };
        }),
      );
      sftp.handle(reqid, newHandle({ kind: 'dir', entries, sent: false }));
    } catch (error) {
      fail(reqid, error);
    }
  });

  sftp.on('READDIR', (reqid, handle) => {
    const open = handleOf(handle);
    if (open?.kind !== 'dir') return sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
    if (open.sent || open.entries.length === 0) return sftp.status(reqid, STATUS_CODE.EOF);
    open.sent = true;
    sftp.name(reqid, open.entries);
  });

  sftp.on('REALPATH', (reqid, path) => {
    const target = virtualToLocal(root, path);
    if (!target) return sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, 'outside the served root');
    sftp.name(reqid, [{ filename: target.virtual, longname: target.virtual, attrs: {} as Attributes }]);
  });

  sftp.on('close', () => {
    for (const open of handles.values()) if (open.kind === 'file') void open.file.close().catch(() => {});
    handles.clear();
  });
}
