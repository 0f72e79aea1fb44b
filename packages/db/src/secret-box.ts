import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * AES-256-GCM for configuration secrets. The additional authenticated data binds a sealed value to its
 * organisation and configuration, so a ciphertext copied onto another row fails to open.
 */
const VERSION = 'v1';
const TAG_LENGTH = 16;

export class SecretKeyError extends Error {}

export function parseSecretKey(value: string): Buffer {
  const trimmed = value.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) {
    throw new SecretKeyError(
      'The secret key must be 32 bytes, as 64 hex characters or base64 (e.g. `openssl rand -base64 32`)',
    );
  }
  return key;
}

export function generateSecretKey(): string {
  return randomBytes(32).toString('base64');
}

/** Reads the local key of the embedded default, creating it (mode 0600) on first use. */
export function loadOrCreateLocalSecretKey(path: string): string {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    // api, worker and CLI may start together: the key is written aside and linked into place, which fails if
    // another process got there first (its key wins) and never exposes a half-written file.
    const pending = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    writeFileSync(pending, `${generateSecretKey()}\n`, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(pending, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      rmSync(pending, { force: true });
    }
  }
  return readFileSync(path, 'utf8').trim();
}

export interface SecretBinding {
  organisationId: string;
  configurationId: string;
}

function aad({ organisationId, configurationId }: SecretBinding): Buffer {
  return Buffer.from(`organisation:${organisationId}|configuration:${configurationId}`, 'utf8');
}

export function sealSecrets(key: Buffer, binding: SecretBinding, secrets: Record<string, string>): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(aad(binding));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(secrets), 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, iv, tag, ciphertext]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
}

export function openSecrets(key: Buffer, binding: SecretBinding, sealed: string): Record<string, string> {
  const [version, iv, tag, ciphertext, ...rest] = sealed.split('.');
  if (version !== VERSION || !iv || !tag || ciphertext === undefined || rest.length > 0) {
    throw new SecretKeyError('Stored secrets are not in a known format');
  }
  try {
    // The tag length is fixed: GCM would otherwise check a truncated tag against only its first bytes.
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), {
      authTagLength: TAG_LENGTH,
    });
    decipher.setAAD(aad(binding));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as Record<string, string>;
  } catch {
    throw new SecretKeyError(
      'Stored secrets could not be decrypted: wrong secret key, or the value was altered or moved',
    );
  }
}
