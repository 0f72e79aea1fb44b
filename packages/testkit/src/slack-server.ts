import { createHmac, randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local Slack for tests: a real HTTP server on 127.0.0.1 speaking the Web API's wire format as
 * @slack/web-api 7.19 uses it (POST, form-urlencoded or JSON, `Authorization: Bearer`, object fields
 * JSON-encoded, `{ok:true,…}` or `{ok:false,error}` with HTTP 200, 429 with Retry-After), the external
 * file upload (an upload URL on this server, raw or multipart), a `response_url` sink, and signed slash
 * commands and button clicks sent to the app the way Slack signs them.
 */

export interface FakeSlackTeam {
  id: string;
  name?: string;
  /** The bot token this team's app holds. */
  token: string;
  botUserId?: string;
  botId?: string;
  /** Channels that exist (DMs are opened on demand); others answer channel_not_found. */
  channels?: string[];
}

export interface PostedMessage {
  teamId: string;
  channel: string;
  ts: string;
  text: string | undefined;
  blocks: Record<string, unknown>[] | undefined;
  metadata: { event_type: string; event_payload: Record<string, unknown> } | undefined;
}

export interface UploadedFile {
  teamId: string;
  id: string;
  filename: string;
  title: string | undefined;
  length: number;
  bytes: Buffer;
  /** How the bytes came: a raw body or a multipart form. */
  encoding: 'raw' | 'multipart';
  /** Where completeUploadExternal shared it (a DM channel); null until then. */
  channel: string | null;
  initialComment: string | undefined;
}

export interface ResponseUrlPost {
  /** Which response_url (the n-th one handed out). */
  id: string;
  body: Record<string, unknown>;
}

export type SlackFault =
  /** The method answers 429 with Retry-After `retryAfter` the next `times` calls. */
  | { method: string; rateLimit: { times: number; retryAfter: number } }
  /** The method answers `{ok:false, error}` the next `times` calls (every call without `times`). */
  | { method: string; error: string; times?: number }
  /** The method answers after `delayMs`. */
  | { method: string; delayMs: number }
  /** The method does its work, then never answers (until stop): a caller that dies there. */
  | { method: string; hold: true }
  /** The upload URL answers 500 the next `times` uploads. */
  | { upload: 500; times?: number };

export type SignatureFault = 'bad' | 'stale' | 'future' | 'tampered' | 'missing';

export interface CommandOptions {
  teamId: string;
  userId: string;
  text?: string;
  command?: string;
  channelId?: string;
  triggerId?: string;
  signature?: SignatureFault;
  /** Sends exactly this body (a replay), signed anew unless `signature` says otherwise. */
  rawBody?: string;
  /** A timestamp for the signature (seconds); default now. */
  timestamp?: number;
}

export interface ButtonOptions {
  teamId: string;
  userId: string;
  actionId: string;
  value: string;
  triggerId?: string;
  signature?: SignatureFault;
}

export interface SentRequest {
  status: number;
  body: string;
  /** The exact body sent and the timestamp it was signed with, for a replay. */
  sentBody: string;
  timestamp: number;
  responseUrlId: string;
}

export interface FakeSlack {
  /** The Web API's base URL, ending in `/`: SLACK_API_URL. */
  apiUrl: string;
  signingSecret: string;
  messages: PostedMessage[];
  files: UploadedFile[];
  responses: ResponseUrlPost[];
  /** Every Web API call by method name, in order. */
  calls: string[];
  fault(fault: SlackFault): void;
  /** Resolves once `predicate` holds, checked after each change (message, file, response, call). */
  until<T>(predicate: () => T | undefined | false | null): Promise<T>;
  /** POSTs a signed slash command to the app's `url`. */
  sendCommand(url: string, options: CommandOptions): Promise<SentRequest>;
  /** POSTs a signed block action (a button click) to the app's `url`. */
  clickButton(url: string, options: ButtonOptions): Promise<SentRequest>;
  stop(): Promise<void>;
}

const MAX_BLOCKS = 50;

export async function startSlackServer(options: {
  teams: FakeSlackTeam[];
  signingSecret?: string;
}): Promise<FakeSlack> {
  const signingSecret = options.signingSecret ?? randomBytes(16).toString('hex');
  const teamsByToken = new Map(options.teams.map((team) => [team.token, team]));
  const messages: PostedMessage[] = [];
  const files: UploadedFile[] = [];
  const pendingFiles = new Map<string, UploadedFile>();
  const responses: ResponseUrlPost[] = [];
  const calls: string[] = [];
  const faults: SlackFault[] = [];
  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  const held = new Set<ServerResponse>();
  let tsCounter = 0;
  let idCounter = 0;
  let responseCounter = 0;
  let base = '';

  const changed = () => changes.emit('change');

  function takeFault(method: string): SlackFault | undefined {
    const index = faults.findIndex((fault) => 'method' in fault && fault.method === method);
    if (index < 0) return undefined;
    const fault = faults[index]!;
    if ('rateLimit' in fault) {
      fault.rateLimit.times -= 1;
      if (fault.rateLimit.times <= 0) faults.splice(index, 1);
    } else if ('error' in fault && fault.times !== undefined) {
      fault.times -= 1;
      if (fault.times <= 0) faults.splice(index, 1);
    }
    return fault;
  }

  function nextTs(): string {
    tsCounter += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(tsCounter).padStart(6, '0')}`;
  }

  function json(res: ServerResponse, body: unknown, status = 200, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  function parseParams(req: IncomingMessage, body: Buffer): Record<string, unknown> {
    const type = req.headers['content-type'] ?? '';
    if (type.includes('application/json')) return JSON.parse(body.toString('utf8') || '{}');
    return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  }

  /** Object fields arrive JSON-encoded in a form body, as objects in a JSON one. */
  function objectField<T>(value: unknown): T | undefined {
    if (value === undefined) return undefined;
    return (typeof value === 'string' ? JSON.parse(value) : value) as T;
  }

  function channelExists(team: FakeSlackTeam, channel: string): boolean {
    return channel.startsWith('D') || !team.channels || team.channels.includes(channel);
  }

  const methods: Record<
    string,
    (team: FakeSlackTeam, params: Record<string, unknown>) => Record<string, unknown>
  > = {
    'auth.test': (team) => ({
      url: `https://${team.id.toLowerCase()}.slack.example/`,
      team: team.name ?? team.id,
      user: 'provisioning',
      team_id: team.id,
      user_id: team.botUserId ?? 'U0BOT',
      bot_id: team.botId ?? 'B0BOT',
    }),
    'conversations.open': (_team, params) => {
      const users = String(params.users ?? '');
      if (!users || users.includes(',')) return { ok: false, error: 'invalid_arguments' };
      return { channel: { id: `D${users}` } };
    },
    'conversations.history': (team, params) => {
      const channel = String(params.channel ?? '');
      if (!channelExists(team, channel)) return { ok: false, error: 'channel_not_found' };
      const oldest = Number(params.oldest ?? 0);
      const withMetadata = String(params.include_all_metadata) === 'true';
      const found = messages
        .filter((m) => m.teamId === team.id && m.channel === channel && Number(m.ts) >= oldest)
        .reverse()
        .map((m) => ({
          type: 'message',
          ts: m.ts,
          text: m.text,
          ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}),
        }));
      return { messages: found, has_more: false, response_metadata: { next_cursor: '' } };
    },
    'chat.postMessage': (team, params) => {
      const channel = String(params.channel ?? '');
      if (!channelExists(team, channel)) return { ok: false, error: 'channel_not_found' };
      let blocks: Record<string, unknown>[] | undefined;
      try {
        blocks = objectField(params.blocks);
      } catch {
        return { ok: false, error: 'invalid_blocks_format' };
      }
      if (blocks !== undefined && (!Array.isArray(blocks) || blocks.length > MAX_BLOCKS)) {
        return { ok: false, error: 'invalid_blocks' };
      }
      if (blocks === undefined && params.text === undefined) return { ok: false, error: 'no_text' };
      const message: PostedMessage = {
        teamId: team.id,
        channel,
        ts: nextTs(),
        text: params.text === undefined ? undefined : String(params.text),
        blocks,
        metadata: objectField(params.metadata),
      };
      messages.push(message);
      return { channel, ts: message.ts, message: { text: message.text, ts: message.ts } };
    },
    'files.getUploadURLExternal': (team, params) => {
      const length = Number(params.length);
      const filename = String(params.filename ?? '');
      if (!filename || !Number.isInteger(length) || length <= 0)
        return { ok: false, error: 'invalid_arguments' };
      idCounter += 1;
      const id = `F${String(idCounter).padStart(8, '0')}`;
      pendingFiles.set(id, {
        teamId: team.id,
        id,
        filename,
        title: undefined,
        length,
        bytes: Buffer.alloc(0),
        encoding: 'raw',
        channel: null,
        initialComment: undefined,
      });
      return { upload_url: `${base}upload/${id}`, file_id: id };
    },
    'files.completeUploadExternal': (team, params) => {
      const requested = objectField<{ id: string; title?: string }[]>(params.files) ?? [];
      const channel = params.channel_id === undefined ? null : String(params.channel_id);
      if (channel !== null && !channelExists(team, channel)) return { ok: false, error: 'channel_not_found' };
      const completed: UploadedFile[] = [];
      for (const { id, title } of requested) {
        const file = pendingFiles.get(id);
        if (!file || file.teamId !== team.id || file.bytes.length !== file.length) {
          return { ok: false, error: 'file_not_found' };
        }
        completed.push(file);
        file.title = title;
      }
      for (const file of completed) {
        pendingFiles.delete(file.id);
        file.channel = channel;
        file.initialComment =
          params.initial_comment === undefined ? undefined : String(params.initial_comment);
        files.push(file);
      }
      return { files: completed.map((file) => ({ id: file.id, title: file.title })) };
    },
  };

  async function upload(req: IncomingMessage, res: ServerResponse, id: string) {
    const body = await readBody(req);
    const faultIndex = faults.findIndex((fault) => 'upload' in fault);
    if (faultIndex >= 0) {
      const fault = faults[faultIndex] as { upload: 500; times?: number };
      if (fault.times !== undefined && --fault.times <= 0) faults.splice(faultIndex, 1);
      res.writeHead(500).end('upload failed');
      return;
    }
    const file = pendingFiles.get(id);
    if (!file) {
      res.writeHead(404).end('no such upload');
      return;
    }
    const type = req.headers['content-type'] ?? '';
    const boundary = /multipart\/form-data;.*boundary=("?)([^";]+)\1/.exec(type)?.[2];
    const bytes = boundary ? multipartFile(body, boundary) : body;
    if (bytes === null || bytes.length !== file.length) {
      res.writeHead(400).end(`expected ${file.length} bytes, got ${bytes?.length ?? 'no file part'}`);
      return;
    }
    file.bytes = bytes;
    file.encoding = boundary ? 'multipart' : 'raw';
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${bytes.length}`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent)
        json(res, { ok: false, error: 'fake_internal_error', detail: String(error) }, 500);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    if (path.startsWith('/upload/')) {
      await upload(req, res, path.slice('/upload/'.length));
      changed();
      return;
    }
    if (path.startsWith('/response/')) {
      const body = await readBody(req);
      responses.push({ id: path.slice('/response/'.length), body: JSON.parse(body.toString('utf8')) });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      changed();
      return;
    }
    const method = path.startsWith('/api/') ? path.slice('/api/'.length) : '';
    const body = await readBody(req);
    calls.push(method);
    const handler = methods[method];
    if (!handler) {
      json(res, { ok: false, error: 'unknown_method' });
      changed();
      return;
    }
    const fault = takeFault(method);
    if (fault && 'rateLimit' in fault) {
      json(res, { ok: false, error: 'ratelimited' }, 429, {
        'retry-after': String(fault.rateLimit.retryAfter),
      });
      changed();
      return;
    }
    if (fault && 'error' in fault) {
      json(res, { ok: false, error: fault.error });
      changed();
      return;
    }
    const params = parseParams(req, body);
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const team = teamsByToken.get(bearer ?? String(params.token ?? ''));
    if (!team) {
      json(res, { ok: false, error: bearer || params.token ? 'invalid_auth' : 'not_authed' });
      changed();
      return;
    }
    const result = handler(team, params);
    const answer = 'ok' in result ? result : { ok: true, ...result };
    changed();
    if (fault && 'hold' in fault) {
      held.add(res);
      return;
    }
    if (fault && 'delayMs' in fault) {
      setTimeout(() => json(res, answer), fault.delayMs);
      return;
    }
    json(res, answer);
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}/`;

  function sign(body: string, timestamp: number, fault: SignatureFault | undefined) {
    const ts = fault === 'stale' ? timestamp - 6 * 60 : fault === 'future' ? timestamp + 6 * 60 : timestamp;
    const secret = fault === 'bad' ? `${signingSecret}x` : signingSecret;
    const signature = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
    };
    if (fault !== 'missing') {
      headers['x-slack-request-timestamp'] = String(ts);
      headers['x-slack-signature'] = signature;
    }
    // Tampered: signed, then changed on the way.
    return { headers, body: fault === 'tampered' ? body.replace(/text=[^&]*/, 'text=latest+xlsx') : body };
  }

  async function post(
    url: string,
    body: string,
    options: { signature?: SignatureFault; timestamp?: number },
  ) {
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    const signed = sign(body, timestamp, options.signature);
    const response = await fetch(url, { method: 'POST', headers: signed.headers, body: signed.body });
    return { status: response.status, body: await response.text(), timestamp };
  }

  function responseUrl(): { id: string; url: string } {
    responseCounter += 1;
    const id = String(responseCounter);
    return { id, url: `${base}response/${id}` };
  }

  return {
    apiUrl: `${base}api/`,
    signingSecret,
    messages,
    files,
    responses,
    calls,
    fault(fault) {
      faults.push(structuredClone(fault));
    },
    until(predicate) {
      return new Promise((resolve) => {
        const check = () => {
          const value = predicate();
          if (value !== undefined && value !== false && value !== null) {
            changes.off('change', check);
            resolve(value);
          }
        };
        changes.on('change', check);
        check();
      });
    },
    async sendCommand(url, command) {
      const response = responseUrl();
      const body =
        command.rawBody ??
        new URLSearchParams({
          token: 'legacy-verification-token',
          team_id: command.teamId,
          team_domain: command.teamId.toLowerCase(),
          channel_id: command.channelId ?? 'C0GENERAL',
          channel_name: 'general',
          user_id: command.userId,
          user_name: 'someone',
          command: command.command ?? '/sync-logs',
          text: command.text ?? '',
          api_app_id: 'A0PROVISIONING',
          is_enterprise_install: 'false',
          response_url: response.url,
          trigger_id: command.triggerId ?? `${Date.now()}.${randomBytes(6).toString('hex')}`,
        }).toString();
      const sent = await post(url, body, command);
      return { ...sent, sentBody: body, responseUrlId: response.id };
    },
    async clickButton(url, click) {
      const response = responseUrl();
      const payload = {
        type: 'block_actions',
        team: { id: click.teamId, domain: click.teamId.toLowerCase() },
        user: { id: click.userId, team_id: click.teamId },
        api_app_id: 'A0PROVISIONING',
        token: 'legacy-verification-token',
        trigger_id: click.triggerId ?? `${Date.now()}.${randomBytes(6).toString('hex')}`,
        response_url: response.url,
        channel: { id: 'C0GENERAL', name: 'general' },
        container: { type: 'message', message_ts: '1.000001', channel_id: 'C0GENERAL' },
        actions: [
          {
            type: 'button',
            action_id: click.actionId,
            block_id: 'actions',
            value: click.value,
            action_ts: String(Date.now() / 1000),
          },
        ],
      };
      const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
      const sent = await post(url, body, click);
      return { ...sent, sentBody: body, responseUrlId: response.id };
    },
    async stop() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** The first file part of a multipart body, or null when there is none. */
function multipartFile(body: Buffer, boundary: string): Buffer | null {
  const delimiter = Buffer.from(`--${boundary}`);
  let start = body.indexOf(delimiter);
  while (start >= 0) {
    const headerEnd = body.indexOf('\r\n\r\n', start);
    if (headerEnd < 0) return null;
    const headers = body.subarray(start, headerEnd).toString('utf8');
    const next = body.indexOf(delimiter, headerEnd + 4);
    if (next < 0) return null;
    if (/filename=/i.test(headers)) return body.subarray(headerEnd + 4, next - 2);
    start = next;
  }
  return null;
}
