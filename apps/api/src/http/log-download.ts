import type { HttpBindings } from '@hono/node-server';
import { ACCESS_DENIAL_MESSAGES, checkAccess, DomainError, LOG_FORMATS } from '@provisioning/shared';
import { exportRunLog, LOG_CONTENT_TYPES, type RunLogInfo, runLogInfo } from '@provisioning/sync';
import type { Context, Handler } from 'hono';
import { domainErrorStatus } from '../trpc/trpc.ts';
import type { AppEnv } from './app-env.ts';
import { DOWNLOAD_RETRY_AFTER_SECONDS, type DownloadEnd, type DownloadSlots } from './download-slots.ts';
import { ReaderGoneError, ReaderStalledError, responseBody } from './response-body.ts';

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

export interface LogDownloadOptions {
  slots: DownloadSlots;
  /** A download whose client reads nothing for this long is dropped, freeing its slot. */
  stallTimeoutMs: number;
}

/** Bytes of the file queued for a slow client before the export waits for it. */
const BODY_HIGH_WATER_MARK = 64 * 1024;

/**
 * GET /api/runs/:runId/:file (log.csv or log.xlsx): the run's log, streamed, under its download name.
 * The same permission as the page, from the same table; another organisation's run is 404; a run with
 * no log (Queued, In Progress, Above Deactivation Threshold, Cancelled) is 409 with the reason.
 *
 * HEAD answers the same from the run's record alone: an export costs seconds of CPU, and Hono would
 * otherwise run the GET handler and throw the body away. A GET beyond the session's or the process's
 * share of exports is 429 with Retry-After.
 */
export function logDownload({ slots, stallTimeoutMs }: LogDownloadOptions): Handler<AppEnv> {
  return async (c) => {
    const file = c.req.param('file');
    const format = LOG_FORMATS.find((candidate) => file === `log.${candidate}`);
    if (format === undefined) return c.json({ error: 'not found' }, 404);
    const session = await c.var.session.load();
    if (!session) return c.json({ error: 'Sign in to download logs.' }, 401);
    const access = checkAccess(session, 'provisioning.download-logs');
    if (!access.allowed) {
      const { title, action } = ACCESS_DENIAL_MESSAGES[access.reason];
      return c.json({ error: `${title}. ${action}`, reason: access.reason }, 403);
    }
    const organisationId = session.organisation.id;
    const runId = c.req.param('runId') ?? '';
    let info: RunLogInfo;
    try {
      info = await runLogInfo(c.var.em, runId, { organisationId });
    } catch (error) {
      if (error instanceof DomainError) return c.json({ error: error.message }, domainErrorStatus(error));
      throw error;
    }
    if (info.kind === null) return c.json({ error: info.unavailableReason }, 409);
    const headers = {
      'content-type': LOG_CONTENT_TYPES[format],
      'content-disposition': contentDisposition(info.fileName(format)),
      'cache-control': 'no-store',
    };
    // No Content-Length: the size is known only once the file has been written.
    if (c.req.method === 'HEAD') return c.body(null, 200, headers);

    const slot = slots.acquire(session.token);
    if ('refused' in slot) {
      c.header('retry-after', String(DOWNLOAD_RETRY_AFTER_SECONDS));
      return c.json({ error: slot.message }, 429);
    }
    const connection = nodeConnection(c);
    const body = responseBody({
      highWaterMark: BODY_HIGH_WATER_MARK,
      stallTimeoutMs,
      ...(connection ? { abortConnection: () => connection.destroy() } : {}),
      onWrite: (bytes) => {
        slot.bytesWritten += bytes;
      },
    });
    const log = c.var.logger;
    exportRunLog({
      em: c.var.em,
      runId,
      organisationId,
      format,
      output: body.output,
      onProgress: (lines) => {
        slot.linesRead = lines;
      },
    }).then(
      ({ rows }) => {
        slot.release('completed');
        log.info({ runId, format, rows }, 'log downloaded');
      },
      (error) => {
        // A failure before the first byte (the run gone since runLogInfo) leaves the body open: end it.
        body.output.destroy(error);
        const end = downloadEnd(error);
        slot.release(end);
        const fields = { runId, format, linesRead: slot.linesRead, bytes: slot.bytesWritten };
        if (end === 'failed') log.error({ ...fields, err: error }, 'log download failed midway');
        else
          log.info(
            fields,
            end === 'stalled'
              ? 'log download dropped: the client stopped reading'
              : 'log download aborted by the client',
          );
      },
    );
    return new Response(body.stream, { status: 200, headers });
  };
}

function downloadEnd(error: unknown): DownloadEnd {
  if (error instanceof ReaderStalledError) return 'stalled';
  if (error instanceof ReaderGoneError) return 'aborted';
  return 'failed';
}

/** The Node response under this request: absent under `app.request()` (tests), which has no socket. */
function nodeConnection(c: Context<AppEnv>): HttpBindings['outgoing'] | undefined {
  return (c.env as Partial<HttpBindings> | undefined)?.outgoing;
}
