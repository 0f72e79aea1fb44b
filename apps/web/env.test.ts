import { EnvError } from '@provisioning/shared';
import { describe, expect, it } from 'vitest';
import { parseEnv } from './env.ts';

describe('parseEnv', () => {
  it('serves on 127.0.0.1:5173 and proxies to the API on 127.0.0.1:3000 by default', () => {
    expect(parseEnv({})).toEqual({ PORT: 5173, HOST: '127.0.0.1', API_URL: 'http://127.0.0.1:3000' });
  });

  it('listens where HOST and PORT say', () => {
    expect(parseEnv({ HOST: '0.0.0.0', PORT: '8080' })).toMatchObject({ HOST: '0.0.0.0', PORT: 8080 });
  });

  it('refuses a port or an API URL it could not use, naming the variable', () => {
    expect(() => parseEnv({ PORT: 'eighty' })).toThrow(EnvError);
    expect(() => parseEnv({ PORT: 'eighty' })).toThrow(/PORT: PORT must be a port number/);
    expect(() => parseEnv({ API_URL: '127.0.0.1:3000' })).toThrow(/API_URL must be an http/);
  });
});
