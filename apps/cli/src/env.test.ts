import { generateSecretKey } from '@provisioning/db';
import { EnvError } from '@provisioning/shared';
import { describe, expect, it } from 'vitest';
import { parseEnv } from './env.ts';

describe('parseEnv', () => {
  it('accepts a postgres URL and a 32-byte secret key in base64 or hex', () => {
    const key = generateSecretKey();
    const env = parseEnv({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/app',
      PROVISIONING_SECRET_KEY: key,
    });
    expect(env).toMatchObject({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/app',
      PROVISIONING_SECRET_KEY: key,
    });
    const hex = Buffer.from(key, 'base64').toString('hex');
    expect(parseEnv({ PROVISIONING_SECRET_KEY: hex }).PROVISIONING_SECRET_KEY).toBe(hex);
  });

  it('refuses a DATABASE_URL that is not a postgres URL', () => {
    expect(() => parseEnv({ DATABASE_URL: 'mysql://root@127.0.0.1/app' })).toThrow(
      new EnvError('Invalid environment:\n  DATABASE_URL: DATABASE_URL must be a postgres:// URL'),
    );
  });

  it('refuses an allow-list entry that is neither a host nor a CIDR range, naming it', () => {
    expect(parseEnv({ CONNECTOR_ALLOWED_HOSTS: 'sftp.corp, 10.0.0.0/8' }).CONNECTOR_ALLOWED_HOSTS).toBe(
      'sftp.corp, 10.0.0.0/8',
    );
    expect(() => parseEnv({ CONNECTOR_ALLOWED_HOSTS: '10.0.0.0/40' })).toThrow(
      new EnvError(
        'Invalid environment:\n  CONNECTOR_ALLOWED_HOSTS: "10.0.0.0/40" has no valid prefix length (0 to 32)',
      ),
    );
  });

  it('refuses a secret key that is not 32 bytes, naming the variable', () => {
    expect(() => parseEnv({ PROVISIONING_SECRET_KEY: 'not-a-key' })).toThrow(EnvError);
    expect(() => parseEnv({ PROVISIONING_SECRET_KEY: Buffer.alloc(16).toString('base64') })).toThrow(
      /PROVISIONING_SECRET_KEY: must be 32 bytes/,
    );
  });
});
