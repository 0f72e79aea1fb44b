import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  DatabaseUrlSchema,
  EnvError,
  MetricsTokenSchema,
  PortSchema,
  parseEnvironment,
} from './environment.ts';

const Schema = z.object({
  DATABASE_URL: DatabaseUrlSchema,
  PORT: PortSchema.default(3000),
  NAME: z.string().default('demo'),
});

describe('parseEnvironment', () => {
  it('returns the parsed variables with their defaults, ignoring variables the schema does not name', () => {
    expect(parseEnvironment(Schema, { DATABASE_URL: 'postgres://db/app', PATH: '/bin' }, 'The app')).toEqual({
      DATABASE_URL: 'postgres://db/app',
      PORT: 3000,
      NAME: 'demo',
    });
  });

  it('counts an empty variable as unset, so its default applies', () => {
    expect(
      parseEnvironment(Schema, { DATABASE_URL: 'postgres://db/app', PORT: '', NAME: '' }, 'The app'),
    ).toEqual({ DATABASE_URL: 'postgres://db/app', PORT: 3000, NAME: 'demo' });
  });

  it('lists every bad variable under the heading, one line each, as NAME: message', () => {
    expect(() => parseEnvironment(Schema, { PORT: '70000' }, 'The app cannot start')).toThrow(
      new EnvError(
        'The app cannot start:\n' +
          '  DATABASE_URL: DATABASE_URL is not set. Set it to a PostgreSQL URL (postgres://user@host:5432/database), ' +
          'or run `pnpm start` from the repository root, which starts the embedded database and the apps together.\n' +
          '  PORT: PORT must be a port number from 1 to 65535',
      ),
    );
  });

  it('never echoes a bad value, which may hold a password', () => {
    const source = { DATABASE_URL: 'mysql://root:hunter2@db/app', PORT: 'hunter2' };
    expect(() => parseEnvironment(Schema, source, 'The app')).toThrow(
      /DATABASE_URL must be a PostgreSQL URL.*PORT must be a port number/s,
    );
    expect(() => parseEnvironment(Schema, source, 'The app')).not.toThrow(/hunter2/);
  });
});

describe('PortSchema', () => {
  it('takes a whole number from 1 to 65535 and refuses anything else', () => {
    expect(PortSchema.parse('5173')).toBe(5173);
    for (const bad of ['0', '65536', '1.5', 'eighty', '-1']) {
      expect(PortSchema.safeParse(bad).success).toBe(false);
    }
  });
});

describe('MetricsTokenSchema', () => {
  it('takes 16 to 512 visible ASCII characters, what an Authorization header carries as given', () => {
    for (const good of ['metrics-token-0123456789', 'A'.repeat(16), 'a+b/c=d~e_f.g!h#'.padEnd(512, 'x')]) {
      expect(MetricsTokenSchema.parse(good)).toBe(good);
    }
  });

  it('refuses a token too short to guess at, too long, or holding spaces, control or non-ASCII characters', () => {
    for (const bad of [
      'short-token',
      'x'.repeat(513),
      ' '.repeat(16),
      'metrics token 0123456789',
      'metrics-token-0123\n456789',
      'metrics-token-0123\u0000456789',
      'métrics-token-0123456789',
    ]) {
      const result = MetricsTokenSchema.safeParse(bad);
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.message).toMatch(
        /^METRICS_TOKEN must be 16 to 512 visible ASCII characters/,
      );
    }
  });
});
