/**
 * Paths pino blanks out in every log line of the api and the worker (`redact`), whatever logged them.
 * Secrets should never reach a logger; this is the second wall for the day one does: a connector error
 * carrying its request, a settings object logged whole. `*` is one level of nesting.
 */
export const LOG_REDACT_PATHS = [
  'password',
  'passphrase',
  'privateKey',
  'clientSecret',
  'refreshToken',
  'token',
  'secrets',
  '*.password',
  '*.passphrase',
  '*.privateKey',
  '*.clientSecret',
  '*.refreshToken',
  '*.token',
  '*.secrets',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'err.config.headers.Authorization',
  'err.config.headers.authorization',
  'err.original.config.headers.Authorization',
  'err.request.headers.authorization',
  'err.cause.config.headers.Authorization',
] as const;

/** pino's options for an app's logger: its level, its name on every line, the redaction above. */
export function loggerOptions(service: string, level: string) {
  return {
    level,
    base: { service },
    redact: { paths: [...LOG_REDACT_PATHS], censor: '[redacted]' },
  };
}
