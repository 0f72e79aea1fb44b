import { beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './password.ts';

// scrypt at N=2^17 takes a noticeable moment: the file hashes a few times in all.
let first: string;
let second: string;

beforeAll(async () => {
  [first, second] = await Promise.all([
    hashPassword('correct horse battery staple'),
    hashPassword('correct horse battery staple'),
  ]);
});

describe('password hashing', () => {
  it('stores the scheme, its parameters, a salt and the key', () => {
    expect(first).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
  });

  it('verifies the password it hashed', async () => {
    expect(await verifyPassword('correct horse battery staple', first)).toBe(true);
  });

  it('refuses a wrong password, even one differing only in case or a trailing space', async () => {
    const results = await Promise.all(
      ['Correct horse battery staple', 'correct horse battery staple ', ''].map((wrong) =>
        verifyPassword(wrong, first),
      ),
    );
    expect(results).toEqual([false, false, false]);
  });

  it('salts each hash, so the same password hashes differently', async () => {
    expect(second).not.toBe(first);
    expect(second.split('$')[4]).not.toBe(first.split('$')[4]);
    expect(await verifyPassword('correct horse battery staple', second)).toBe(true);
  });

  it('treats canonically equivalent Unicode spellings as the same password', async () => {
    const composed = await hashPassword('caf\u00e9');
    expect(await verifyPassword('cafe\u0301', composed)).toBe(true);
  });
});

describe('passwords with NUL characters', () => {
  it('never verifies a password with a NUL, which scrypt would otherwise take for the password without it', async () => {
    expect(await verifyPassword('correct horse battery staple\u0000', first)).toBe(false);
    expect(await verifyPassword('correct horse battery staple\u0000\u0000', first)).toBe(false);
  });

  it('refuses to hash a password with a NUL', async () => {
    await expect(hashPassword('abc\u0000')).rejects.toThrow(/NUL/);
  });

  it('keeps verifying a hash stored before NUL was refused', async () => {
    const stored = 'scrypt$131072$8$1$c2FsdHNhbHRzYWx0c2FsdA==$rv6FkGmOMGc4kn+v5AFWYHdmcm/4US7KJQ1NORfOTpo=';
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true);
  });
});

describe('verifyPassword with a malformed stored hash', () => {
  const [, , , , salt, key] =
    'scrypt$131072$8$1$c2FsdHNhbHRzYWx0c2FsdA==$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U='.split('$');

  it.each([
    ['an empty string', ''],
    ['a bcrypt hash', '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW'],
    ['plain text', 'correct horse battery staple'],
    ['a missing key', `scrypt$131072$8$1$${salt}$`],
    ['a missing salt', `scrypt$131072$8$1$$${key}`],
    ['an extra field', `scrypt$131072$8$1$${salt}$${key}$extra`],
    ['non-numeric parameters', `scrypt$abc$8$1$${salt}$${key}`],
    ['a fractional parameter', `scrypt$131072$8.5$1$${salt}$${key}`],
    ['a negative parameter', `scrypt$131072$-8$1$${salt}$${key}`],
    ['an N that is not a power of two', `scrypt$100000$8$1$${salt}$${key}`],
    ['an N of 1', `scrypt$1$8$1$${salt}$${key}`],
    ['an N asking for terabytes of memory', `scrypt$1073741824$8$1$${salt}$${key}`],
    ['a huge parallelism', `scrypt$16384$8$1000000$${salt}$${key}`],
    ['a key of the wrong length', `scrypt$16384$8$1$${salt}$a2V5`],
  ])('returns false rather than throwing for %s', async (_, stored) => {
    await expect(verifyPassword('correct horse battery staple', stored)).resolves.toBe(false);
  });
});
