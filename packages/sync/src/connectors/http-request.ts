import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { formatBytes } from '../files/raw-rows.ts';
import { guardedLookup, vetHost } from './host-guard.ts';
import { type AllowList, SourceError } from './source.ts';

/**
 * One HTTP exchange of a connector, with what every connector needs around it: the SSRF guard on every
 * connection, a size cap, a deadline for the whole exchange, an inactivity clock on the body (a server
 * that stops sending mid-body cannot hang a run), abort, and progress as bytes arrive. The answer is
 * returned whatever its status: the caller knows what a 401 or a 404 means for its service.
 */

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpExchange {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

export interface HttpLimits {
  /** The longest the whole exchange may take, the body included. */
  timeoutMs: number;
  /** The longest the server may go without sending a byte, once connected. */
  idleTimeoutMs: number;
  /** The largest body accepted. */
  maxBytes: number;
  signal?: AbortSignal;
  /** Told of each chunk that arrives: its size. */
  onBytes?: (bytes: number) => void;
}

/** HTTP agents whose every connection goes to an address the allow-list accepts (host-guard.ts). */
export interface GuardedAgents {
  allowList: AllowList;
  http: http.Agent;
  https: https.Agent;
  destroy(): void;
}

export function guardedAgents(allowList: AllowList): GuardedAgents {
  const lookup = guardedLookup(allowList);
  const agents = {
    http: new http.Agent({ keepAlive: true, lookup }),
    https: new https.Agent({ keepAlive: true, lookup }),
  };
  return {
    allowList,
    ...agents,
    destroy() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

/** What the messages call the service: "wd2-impl-services1.workday.com". */
const hostOf = (url: URL) => url.host;

/**
 * Sends the request and reads the whole answer. Fails with a SourceError: network trouble, a deadline
 * passed or a body cut short are transient; a body over the limit is not. An abort rejects with the
 * signal's reason.
 */
export async function exchange(
  request: HttpExchange,
  agents: GuardedAgents,
  limits: HttpLimits,
): Promise<HttpAnswer> {
  const { url } = request;
  limits.signal?.throwIfAborted();
  // A socket given an IP address connects without asking the agent's lookup: vet it here.
  const literal = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(literal) !== 0) await vetHost(literal, agents.allowList);
  const secure = url.protocol === 'https:';
  return new Promise<HttpAnswer>((resolve, reject) => {
    let settled = false;
    let received = 0;
    let phase: 'connecting' | 'reading' = 'connecting';
    let idle: NodeJS.Timeout | undefined;
    const chunks: Buffer[] = [];
    const finish = (error: unknown, answer?: HttpAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(idle);
      limits.signal?.removeEventListener('abort', onAbort);
      if (error !== undefined) {
        req.destroy();
        reject(error);
      } else resolve(answer as HttpAnswer);
    };
    const onAbort = () => finish(limits.signal?.reason);
    const deadline = setTimeout(
      () =>
        finish(
          new SourceError(
            phase === 'connecting' ? 'SourceUnreachable' : 'Interrupted',
            `${hostOf(url)} did not ${phase === 'connecting' ? 'answer' : 'finish its answer'} within ${limits.timeoutMs / 1000} seconds${phase === 'reading' ? ` (${formatBytes(received)} received)` : ''}.`,
            {
              hint: 'Usually a slow or busy service: the run is retried. If it keeps happening, raise timeoutMs in the configuration, or make the report smaller (fewer fields, a filter).',
              transient: true,
            },
          ),
        ),
      limits.timeoutMs,
    );
    const watch = () => {
      clearTimeout(idle);
      idle = setTimeout(
        () =>
          finish(
            new SourceError(
              'Interrupted',
              `${hostOf(url)} stopped sending for ${limits.idleTimeoutMs / 1000} seconds after ${formatBytes(received)} of its answer.`,
              {
                hint: 'Usually a passing network or service problem: the run is retried. If it keeps happening, check the service status.',
                transient: true,
              },
            ),
          ),
        limits.idleTimeoutMs,
      );
    };
    limits.signal?.addEventListener('abort', onAbort, { once: true });

    const req = (secure ? https : http).request(
      url,
      {
        method: request.method,
        headers: {
          ...request.headers,
          ...(request.body === undefined
            ? {}
            : { 'Content-Length': String(Buffer.byteLength(request.body)) }),
        },
        agent: secure ? agents.https : agents.http,
      },
      (res) => {
        phase = 'reading';
        watch();
        const declared = Number(res.headers['content-length']);
        const tooLarge = (size: number, what: string) =>
          new SourceError(
            'SizeLimitExceeded',
            `The answer of ${hostOf(url)} ${what} ${formatBytes(size)}, more than the ${formatBytes(limits.maxBytes)} limit for this configuration (maxBytes).`,
            {
              hint: 'If answers this large are expected, raise maxBytes in the configuration; otherwise check what the report or request returns.',
            },
          );
        if (Number.isFinite(declared) && declared > limits.maxBytes) {
          finish(tooLarge(declared, 'is'));
          return;
        }
        // With the size known, the body is written into one buffer as it comes: gathering chunks and then
        // joining them holds it twice.
        const whole = Number.isFinite(declared) ? Buffer.allocUnsafe(declared) : null;
        res.on('data', (chunk: Buffer) => {
          if (whole !== null && received + chunk.length <= whole.length) chunk.copy(whole, received);
          else chunks.push(chunk);
          received += chunk.length;
          if (received > limits.maxBytes) {
            finish(tooLarge(received, 'grew past'));
            return;
          }
          watch();
          limits.onBytes?.(chunk.length);
        });
        res.on('end', () => {
          if (!res.complete) return;
          const body =
            whole === null
              ? Buffer.concat(chunks)
              : chunks.length === 0
                ? whole.subarray(0, received)
                : Buffer.concat([
                    whole.subarray(0, received - chunks.reduce((sum, c) => sum + c.length, 0)),
                    ...chunks,
                  ]);
          finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body });
        });
        const cut = (cause?: unknown) =>
          finish(
            new SourceError(
              'Interrupted',
              `The answer of ${hostOf(url)} was cut short after ${formatBytes(received)}${Number.isFinite(declared) ? ` of ${formatBytes(declared)}` : ''}: the connection closed before it was complete.`,
              {
                hint: 'Usually a passing network or service problem: the run is retried. If it keeps happening, check the service status.',
                transient: true,
                cause,
              },
            ),
          );
        res.on('error', cut);
        res.on('close', () => {
          if (!res.complete) cut();
        });
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error instanceof SourceError) finish(error);
      else finish(networkError(url, error));
    });
    req.end(request.body);
  });
}

function networkError(url: URL, error: NodeJS.ErrnoException): SourceError {
  const host = hostOf(url);
  const what: Record<string, string> = {
    ECONNREFUSED: 'the connection was refused',
    ETIMEDOUT: 'the connection timed out',
    EHOSTUNREACH: 'the host cannot be reached from this network',
    ENETUNREACH: 'the host cannot be reached from this network',
    ENOTFOUND: 'the host name could not be resolved (DNS)',
    EAI_AGAIN: 'the host name could not be resolved (DNS)',
    ECONNRESET: 'the connection was reset',
    EPIPE: 'the connection was reset',
  };
  const known = error.code ? what[error.code] : undefined;
  const tls = /certificate|SSL|TLS/i.test(`${error.code} ${error.message}`);
  return new SourceError(
    'SourceUnreachable',
    `Could not reach ${host}: ${known ?? (tls ? `the secure connection failed (${error.message})` : error.message)}.`,
    {
      hint: tls
        ? 'Check the host in the configuration: its certificate is not valid for it.'
        : error.code === 'ENOTFOUND'
          ? 'Check the spelling of the host in the configuration.'
          : 'Check the host in the configuration, and that the service accepts connections from this one (firewall, IP allow-list). The run is retried.',
      // A name that does not resolve, or a bad certificate, will not fix itself within a run's retries.
      transient: !tls && error.code !== 'ENOTFOUND',
      cause: error,
    },
  );
}

/** At most 300 characters of an answer's text, on one line, for an error message. */
export function quoteBody(body: Buffer): string {
  const text = body.subarray(0, 2048).toString('utf8').replace(/\s+/g, ' ').trim();
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
