import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Orm, sendJob, slackWorkspaceOfTeam, takeSlackRequest } from '@provisioning/db';
import { JOB_NAMES, type SlackCommandJob, SlackCommandJobSchema } from '@provisioning/shared';
import { DOWNLOAD_LOG_ACTION, parseSyncLogs, SYNC_LOGS_USAGE } from '@provisioning/slack';
import { App, type Logger as BoltLogger, HTTPReceiver, LogLevel } from '@slack/bolt';
import type PgBoss from 'pg-boss';
import type { Logger } from 'pino';

/** The paths Slack posts to (the app manifest names them). */
export const SLACK_ENDPOINTS = {
  events: '/slack/events',
  commands: '/slack/commands',
  interactions: '/slack/interactions',
} as const;

/** Largest body taken from Slack: commands and clicks are a few kilobytes. */
export const SLACK_MAX_BODY_BYTES = 64 * 1024;
/** How far a request's timestamp may be from now, either way (Slack's own rule is five minutes old). */
export const SLACK_MAX_CLOCK_SKEW_SECONDS = 300;

export interface SlackReceiverOptions {
  port: number;
  host?: string;
  signingSecret: string;
  orm: Orm;
  boss: PgBoss;
  secretKey: Buffer;
  logger: Logger;
}

export interface RunningSlackReceiver {
  /** Where it listens, e.g. http://127.0.0.1:3100. */
  url: string;
  stop(): Promise<void>;
}

function boltLogger(logger: Logger): BoltLogger {
  return {
    debug: (...messages) => logger.debug(messages.map(String).join(' ')),
    info: (...messages) => logger.info(messages.map(String).join(' ')),
    warn: (...messages) => logger.warn(messages.map(String).join(' ')),
    error: (...messages) => logger.error(messages.map(String).join(' ')),
    setLevel() {},
    getLevel: () => LogLevel.INFO,
    setName() {},
  };
}

function answer(res: ServerResponse, status: number, text = '') {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
}

/** The body, up to `max` bytes; null when it is longer (the rest is not read). */
async function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Slack's requests (`/sync-logs`, the log buttons) on SLACK_PORT: our own node:http server, which answers
 * /healthz and refuses what is too large or outside the time window before Bolt's HTTPReceiver checks
 * the signature (`v0=` HMAC of the timestamp and raw body). Bolt accepts timestamps from the future;
 * this does not. A replay inside the window is acknowledged and does nothing (requests are remembered
 * in PostgreSQL by signature, for all workers). An unknown workspace is 401 (authorize fails).
 *
 * Listeners only acknowledge and queue a slack-command job; the job does the work and answers through
 * the response_url.
 */
export async function startSlackReceiver(options: SlackReceiverOptions): Promise<RunningSlackReceiver> {
  const { orm, boss, logger, secretKey } = options;
  const log = logger.child({ component: 'slack' });
  const receiver = new HTTPReceiver({
    signingSecret: options.signingSecret,
    endpoints: Object.values(SLACK_ENDPOINTS),
    logger: boltLogger(log),
    customPropertiesExtractor: (req) => ({ signature: String(req.headers['x-slack-signature'] ?? '') }),
  });
  const app = new App({
    receiver,
    logger: boltLogger(log),
    async authorize({ teamId }) {
      const workspace = teamId ? await slackWorkspaceOfTeam(orm.em.fork(), secretKey, teamId) : null;
      if (!workspace) throw new Error(`Slack workspace ${teamId ?? '(none)'} is not connected`);
      return { botToken: workspace.botToken, botUserId: workspace.botUserId, teamId: workspace.teamId };
    },
  });

  /** Queues the work once per request; false for a replay. */
  async function queue(signature: string, job: SlackCommandJob): Promise<boolean> {
    if (!(await takeSlackRequest(orm.em.fork(), `signature:${signature}`))) {
      log.warn({ teamId: job.teamId }, 'replayed Slack request ignored');
      return false;
    }
    await sendJob(boss, JOB_NAMES.slackCommand, SlackCommandJobSchema.parse(job));
    return true;
  }

  app.command('/sync-logs', async ({ command, ack, context }) => {
    const request = parseSyncLogs(command.text);
    // Help and bad syntax are answered at once; the rest needs the database and Slack: a job.
    if (request.kind === 'help') return ack({ response_type: 'ephemeral', text: SYNC_LOGS_USAGE });
    if (request.kind === 'invalid') {
      return ack({ response_type: 'ephemeral', text: `${request.problem}\n\n${SYNC_LOGS_USAGE}` });
    }
    const queued = await queue(String(context.signature), {
      teamId: command.team_id,
      userId: command.user_id,
      text: command.text,
      responseUrl: command.response_url,
      source: 'command',
    });
    if (!queued) return ack();
    return ack({
      response_type: 'ephemeral',
      text:
        request.kind === 'log' ? 'Preparing the log file; it will come in a direct message.' : 'One moment…',
    });
  });

  app.action(new RegExp(`^${DOWNLOAD_LOG_ACTION}_(csv|xlsx)$`), async ({ action, body, ack, context }) => {
    await ack();
    const value = 'value' in action ? String(action.value ?? '') : '';
    const teamId = body.team?.id;
    const responseUrl = 'response_url' in body ? String(body.response_url) : '';
    if (!teamId || !responseUrl) return;
    await queue(String(context.signature), {
      teamId,
      userId: body.user.id,
      text: value,
      responseUrl,
      source: 'button',
    });
  });

  // No app.error(): Bolt's own handler logs and rethrows, so an unknown workspace is answered 401.

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error({ err: error }, 'Slack request failed');
      if (!res.headersSent) answer(res, 500);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) return answer(res, 200, 'ok');
    if (!(Object.values(SLACK_ENDPOINTS) as string[]).includes(path)) return answer(res, 404, 'not found');
    if (req.method !== 'POST') return answer(res, 405, 'POST only');
    if (Number(req.headers['content-length'] ?? 0) > SLACK_MAX_BODY_BYTES) {
      return answer(res, 413, 'request too large');
    }
    const timestamp = Number(req.headers['x-slack-request-timestamp']);
    const skew = Math.abs(Date.now() / 1000 - timestamp);
    if (!Number.isFinite(timestamp) || skew > SLACK_MAX_CLOCK_SKEW_SECONDS) {
      log.warn({ path }, 'Slack request refused: its timestamp is missing or outside five minutes of now');
      return answer(res, 401, 'stale or future request');
    }
    const body = await readBody(req, SLACK_MAX_BODY_BYTES);
    if (body === null) return answer(res, 413, 'request too large');
    // Bolt reads the body from here instead of the stream, which is already consumed.
    (req as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
    receiver.requestListener(req, res);
  }

  server.listen(options.port, options.host ?? '0.0.0.0');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  log.info({ port }, `Slack requests received on port ${port}`);
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
