import { PassThrough, Readable } from 'node:stream';
import {
  ACCESS_DENIAL_MESSAGES,
  checkAccess,
  DomainError,
  LOG_FORMATS,
  type LogFormat,
} from '@provisioning/shared';
import { exportRunLog, LOG_CONTENT_TYPES, runLogInfo } from '@provisioning/sync';
import type { Handler } from 'hono';
import { domainErrorStatus } from '../trpc/trpc.ts';
import type { AppEnv } from './app-env.ts';

/**
 * `Content-Disposition` for a download name (RFC 6266): an ASCII `filename` for old clients, with
 * anything outside printable ASCII, quotes and backslashes replaced, and the exact name in `filename*`.
 */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * GET /api/runs/:runId/:file (log.csv or log.xlsx): the run's log, streamed, under its download name.
 * The same permission as the page, from the same table; another organisation's run is 404; a run with
 * no log (Queued, In Progress, Above Deactivation Threshold, Cancelled) is 409 with the reason.
 */
export const logDownload: Handler<AppEnv> = async (c) => {
  const file = c.req.param('file');
  const format = LOG_FORMATS.find((candidate) => file === `log.${candidate}`);
  if (format === undefined) return c.json({ error: 'not found' }, 404);
  const session = c.var.session;
  if (!session) return c.json({ error: 'Sign in to download logs.' }, 401);
  const access = checkAccess(session, 'provisioning.download-logs');
  if (!access.allowed) {
    const { title, action } = ACCESS_DENIAL_MESSAGES[access.reason];
    return c.json({ error: `${title}. ${action}`, reason: access.reason }, 403);
  }
  const organisationId = session.organisation.id;
  const runId = c.req.param('runId') ?? '';
  try {
    const info = await runLogInfo(c.var.em, runId, { organisationId });
    if (info.kind === null) return c.json({ error: info.unavailableReason }, 409);
    return streamLog(c.var, runId, organisationId, format, info.fileName(format));
  } catch (error) {
    if (error instanceof DomainError) return c.json({ error: error.message }, domainErrorStatus(error));
    throw error;
  }
};

function streamLog(
  vars: AppEnv['Variables'],
  runId: string,
  organisationId: string,
  format: LogFormat,
  fileName: string,
): Response {
  const body = new PassThrough();
  exportRunLog({ em: vars.em, runId, organisationId, format, output: body }).then(
    ({ rows }) => vars.logger.info({ runId, format, rows }, 'log downloaded'),
    // The response has begun: the export destroyed the stream, so the client sees a broken download.
    (error) => vars.logger.error({ err: error, runId, format }, 'log download failed midway'),
  );
  return new Response(Readable.toWeb(body) as ReadableStream, {
    status: 200,
    headers: {
      'content-type': LOG_CONTENT_TYPES[format],
      'content-disposition': contentDisposition(fileName),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  });
}
