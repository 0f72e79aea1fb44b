import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  generateSecretKey,
  loadOrCreateLocalSecretKey,
  openSecrets,
  parseSecretKey,
  SecretKeyError,
  sealSecrets,
} from './secret-box.ts';

// existsSync is wrapped so a test can make it answer "missing" for a file another process just created.
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  return { ...actual, existsSync: vi.fn(actual.existsSync) };
});

const KEY = randomBytes(32);
const BINDING = { organisationId: randomUUID(), configurationId: randomUUID() };
const SECRETS = {
  password: 'pa$$w.rd',
  privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n',
  note: 'é ✓',
};

function openError(fn: () => unknown): SecretKeyError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SecretKeyError);
    return error as SecretKeyError;
  }
  throw new Error('expected opening to fail');
}

const UNREADABLE =
  'Stored secrets could not be decrypted: wrong secret key, or the value was altered or moved';

describe('sealSecrets and openSecrets', () => {
  it('round-trips the secrets', () => {
    const sealed = sealSecrets(KEY, BINDING, SECRETS);
    expect(openSecrets(KEY, BINDING, sealed)).toEqual(SECRETS);
  });

  it('round-trips an empty set of secrets', () => {
    expect(openSecrets(KEY, BINDING, sealSecrets(KEY, BINDING, {}))).toEqual({});
  });

  it('never shows the secrets in the sealed text, and seals the same secrets differently each time', () => {
    const first = sealSecrets(KEY, BINDING, SECRETS);
    const second = sealSecrets(KEY, BINDING, SECRETS);
    expect(first).not.toBe(second);
    expect(first).not.toContain('pa$$w');
    expect(Buffer.from(first.split('.')[3]!, 'base64url').toString('utf8')).not.toContain('pa$$w');
    expect(first).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('fails with a readable SecretKeyError under the wrong key', () => {
    const sealed = sealSecrets(KEY, BINDING, SECRETS);
    expect(openError(() => openSecrets(randomBytes(32), BINDING, sealed)).message).toBe(UNREADABLE);
  });

  it('fails when moved to another configuration', () => {
    const sealed = sealSecrets(KEY, BINDING, SECRETS);
    const moved = { ...BINDING, configurationId: randomUUID() };
    expect(openError(() => openSecrets(KEY, moved, sealed)).message).toBe(UNREADABLE);
  });

  it('fails when moved to another organisation', () => {
    const sealed = sealSecrets(KEY, BINDING, SECRETS);
    const moved = { ...BINDING, organisationId: randomUUID() };
    expect(openError(() => openSecrets(KEY, moved, sealed)).message).toBe(UNREADABLE);
  });

  it('fails when organisation and configuration IDs are swapped', () => {
    const sealed = sealSecrets(KEY, BINDING, SECRETS);
    const swapped = { organisationId: BINDING.configurationId, configurationId: BINDING.organisationId };
    expect(() => openSecrets(KEY, swapped, sealed)).toThrow(SecretKeyError);
  });

  /** Flips one bit in the middle of a base64url part. */
  function flipBit(part: string): string {
    const bytes = Buffer.from(part, 'base64url');
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    return bytes.toString('base64url');
  }

  function tampered(index: number, change: (part: string) => string): string {
    const parts = sealSecrets(KEY, BINDING, SECRETS).split('.');
    parts[index] = change(parts[index]!);
    return parts.join('.');
  }

  it.each([
    ['the iv', 1],
    ['the tag', 2],
    ['the ciphertext', 3],
  ])('fails when a bit of %s is flipped', (_, index) => {
    expect(openError(() => openSecrets(KEY, BINDING, tampered(index, flipBit))).message).toBe(UNREADABLE);
  });

  it('fails when the tag is truncated to its first 4 bytes', () => {
    const truncated = tampered(2, (tag) =>
      Buffer.from(tag, 'base64url').subarray(0, 4).toString('base64url'),
    );
    expect(openError(() => openSecrets(KEY, BINDING, truncated)).message).toBe(UNREADABLE);
  });

  it('fails when the ciphertext is truncated or emptied', () => {
    const shorter = tampered(3, (c) => Buffer.from(c, 'base64url').subarray(1).toString('base64url'));
    expect(() => openSecrets(KEY, BINDING, shorter)).toThrow(SecretKeyError);
    expect(() =>
      openSecrets(
        KEY,
        BINDING,
        tampered(3, () => ''),
      ),
    ).toThrow(SecretKeyError);
  });

  it.each([
    ['an unknown version', (s: string) => s.replace(/^v1\./, 'v2.')],
    ['a missing version', (s: string) => s.slice(3)],
    ['an extra segment', (s: string) => `${s}.AAAA`],
    ['an empty iv', (s: string) => s.replace(/^v1\.[\w-]+\./, 'v1..')],
    ['plain text', () => 'hunter2'],
    ['an empty value', () => ''],
  ])('refuses %s as an unknown format', (_, change) => {
    const sealed = change(sealSecrets(KEY, BINDING, SECRETS));
    expect(openError(() => openSecrets(KEY, BINDING, sealed)).message).toBe(
      'Stored secrets are not in a known format',
    );
  });
});

describe('parseSecretKey', () => {
  it('accepts 64 hex characters, in either case and with surrounding spaces', () => {
    const key = randomBytes(32);
    expect(parseSecretKey(key.toString('hex')).equals(key)).toBe(true);
    expect(parseSecretKey(` ${key.toString('hex').toUpperCase()}\n`).equals(key)).toBe(true);
  });

  it('accepts a base64 32-byte key, as generateSecretKey makes them', () => {
    const generated = generateSecretKey();
    expect(parseSecretKey(generated)).toEqual(Buffer.from(generated, 'base64'));
    expect(parseSecretKey(generated)).toHaveLength(32);
  });

  it.each([
    ['a 16-byte hex key', randomBytes(16).toString('hex')],
    ['a 16-byte base64 key', randomBytes(16).toString('base64')],
    ['a 48-byte base64 key', randomBytes(48).toString('base64')],
    ['a hex key one character short', randomBytes(32).toString('hex').slice(1)],
    ['garbage', 'not a key at all!'],
    ['an empty value', ''],
  ])('rejects %s with a message saying what a key looks like', (_, value) => {
    expect(() => parseSecretKey(value)).toThrow(SecretKeyError);
    expect(() => parseSecretKey(value)).toThrow(/must be 32 bytes, as 64 hex characters or base64/);
  });
});

describe('loadOrCreateLocalSecretKey', () => {
  const dir = mkdtempSync(join(tmpdir(), 'secret-box-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a 0600 key file once, in a directory it creates, and returns the same key afterwards', () => {
    const path = join(dir, 'nested', 'secret.key');
    const first = loadOrCreateLocalSecretKey(path);
    expect(parseSecretKey(first)).toHaveLength(32);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const { mtimeMs } = statSync(path);
    expect(loadOrCreateLocalSecretKey(path)).toBe(first);
    expect(statSync(path).mtimeMs).toBe(mtimeMs);
    expect(readdirSync(join(dir, 'nested'))).toEqual(['secret.key']);
  });

  it('keeps an existing key file as it is', () => {
    const path = join(dir, 'existing.key');
    const key = randomBytes(32).toString('hex');
    writeFileSync(path, `${key}\n`);
    expect(loadOrCreateLocalSecretKey(path)).toBe(key);
  });

  it("returns the other process's key when that process creates the file first", () => {
    const path = join(dir, 'raced.key');
    const theirs = loadOrCreateLocalSecretKey(path);
    // As if this process checked just before the other one created the file.
    vi.mocked(existsSync).mockReturnValueOnce(false);
    expect(loadOrCreateLocalSecretKey(path)).toBe(theirs);
    expect(readdirSync(dir).filter((name) => name.startsWith('raced.key'))).toEqual(['raced.key']);
  });
});
