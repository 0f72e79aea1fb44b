import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

// OWASP's scrypt floor (N=2^17, r=8, p=1); the parameters are stored with each hash so they can rise.
const N = 2 ** 17;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { N: n, r, p, maxmem: 256 * n * r }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/**
 * OpenSSL's scrypt stops at a password's trailing NULs ("pw\0" derives the key of "pw"): a password with a
 * NUL is never hashed nor verified. The input schemas refuse it first; this is the last wall.
 */
function hasNul(password: string): boolean {
  return password.includes('\u0000');
}

export async function hashPassword(password: string): Promise<string> {
  if (hasNul(password)) throw new Error('A password must not contain NUL characters');
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * Stored parameters are checked before use: a corrupt hash must not throw nor make scrypt allocate gigabytes.
 * 256 MiB is twice what today's parameters need (128 * N * r bytes).
 */
const MAX_MEMORY = 256 * 1024 ** 2;

function parameter(value: string | undefined): number | null {
  return value !== undefined && /^[1-9]\d{0,9}$/.test(value) ? Number(value) : null;
}

/** True when `password` matches `stored`; false for a wrong password and for any malformed stored hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  const [scheme, , , , salt, key] = parts;
  const [n, r, p] = parts.slice(1, 4).map(parameter);
  if (hasNul(password)) return false;
  if (parts.length !== 6 || scheme !== 'scrypt' || !salt || !key || !n || !r || !p) return false;
  if (128 * n * r > MAX_MEMORY || n < 2 || !Number.isInteger(Math.log2(n)) || p > 16) return false;
  const expected = Buffer.from(key, 'base64');
  if (expected.length !== KEY_LENGTH) return false;
  try {
    const actual = await derive(password, Buffer.from(salt, 'base64'), n, r, p);
    return timingSafeEqual(actual, expected);
  } catch {
    return false;
  }
}
