import { Writable } from 'node:stream';
import { loggerOptions } from '@provisioning/shared';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

const CANARY = 'canary-7f3a9c0e5b21';

/** The lines a logger with the apps' options writes. */
function capture(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino(loggerOptions('api', 'info'), stream), lines };
}

describe('the apps’ logger', () => {
  it.each([
    ['a settings object logged whole', { settings: { host: 'sftp.acme.example', password: CANARY } }],
    ['a private key', { settings: { privateKey: CANARY, passphrase: CANARY } }],
    ['an OAuth refresh token and client secret', { oauth: { refreshToken: CANARY, clientSecret: CANARY } }],
    [
      'a request’s cookie and authorization',
      { req: { headers: { cookie: `session=${CANARY}`, authorization: CANARY } } },
    ],
    [
      'a Slack client error carrying its request (the bot token)',
      {
        err: {
          message: 'request failed',
          original: { config: { headers: { Authorization: `Bearer ${CANARY}` } } },
        },
      },
    ],
    [
      'an HTTP client error carrying its config',
      { err: { config: { headers: { Authorization: `Basic ${CANARY}` } } } },
    ],
    ['sealed secrets', { configuration: { secrets: CANARY } }],
    ['a token at the top', { token: CANARY }],
  ])('blanks out %s', (_what, fields) => {
    const { logger, lines } = capture();
    logger.info(fields, 'something happened');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(CANARY);
    expect(lines[0]).toContain('[redacted]');
    expect(JSON.parse(lines[0]!)).toMatchObject({ service: 'api', msg: 'something happened' });
  });

  it('keeps what is not a secret', () => {
    const { logger, lines } = capture();
    logger.info({ runId: 'r-1', settings: { host: 'sftp.acme.example' } }, 'run started');
    expect(JSON.parse(lines[0]!)).toMatchObject({ runId: 'r-1', settings: { host: 'sftp.acme.example' } });
  });
});
