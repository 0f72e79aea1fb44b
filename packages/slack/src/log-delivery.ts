import { createReadStream } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import type { WebClient } from '@slack/web-api';

/** Seconds an upload of a log file may take before it is given up. */
const UPLOAD_TIMEOUT_MS = 5 * 60_000;

/**
 * Hosts Slack hands out URLs on (response_url, upload URLs), plus the Web API's own host (a local fake in
 * tests): the bot sends nothing to any other host, whatever a payload or an answer names.
 */
export function slackUrlHosts(apiUrl: string): Set<string> {
  return new Set(['hooks.slack.com', 'files.slack.com', 'slack.com', new URL(apiUrl).host]);
}

export function checkSlackUrl(url: string, hosts: Set<string>): URL {
  const parsed = new URL(url);
  const local = parsed.hostname === '127.0.0.1' || parsed.hostname === 'localhost';
  if (!hosts.has(parsed.host) || (parsed.protocol !== 'https:' && !(local && parsed.protocol === 'http:'))) {
    throw new Error(`Refusing to send to ${parsed.protocol}//${parsed.host}: not a Slack address`);
  }
  return parsed;
}

/** POSTs a file's bytes as the request body (streamed, with its length), and checks Slack's answer. */
async function uploadBytes(url: URL, path: string, bytes: number): Promise<void> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = send(url, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes) },
    timeout: UPLOAD_TIMEOUT_MS,
  });
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
    req.once('timeout', () => req.destroy(new Error('the upload to Slack timed out')));
  });
  answered.catch(() => {});
  await pipeline(createReadStream(path), req);
  const response = await answered;
  response.resume();
  if (response.statusCode !== 200) {
    throw new Error(`Slack refused the file upload (HTTP ${response.statusCode})`);
  }
}

export interface DeliveredFile {
  fileId: string;
  channelId: string;
}

/**
 * Sends a file to one Slack user by direct message, through Slack's external upload: a DM channel
 * (conversations.open), an upload URL for the file's name and size (files.getUploadURLExternal), the
 * bytes streamed to it, then files.completeUploadExternal shares it in the DM. The file is never read
 * into memory whole.
 */
export async function sendFileByDm(
  client: WebClient,
  options: {
    userId: string;
    path: string;
    fileName: string;
    bytes: number;
    comment: string;
    hosts: Set<string>;
  },
): Promise<DeliveredFile> {
  const opened = await client.conversations.open({ users: options.userId });
  const channelId = opened.channel?.id;
  if (!channelId) throw new Error('Slack did not open a direct message channel');
  const { upload_url: uploadUrl, file_id: fileId } = await client.files.getUploadURLExternal({
    filename: options.fileName,
    length: options.bytes,
  });
  if (!uploadUrl || !fileId) throw new Error('Slack did not hand out an upload URL');
  await uploadBytes(checkSlackUrl(uploadUrl, options.hosts), options.path, options.bytes);
  await client.files.completeUploadExternal({
    files: [{ id: fileId, title: options.fileName }],
    channel_id: channelId,
    initial_comment: options.comment,
  });
  return { fileId, channelId };
}

/** Answers a command or a click through its response_url: a message only the person who asked sees. */
export async function respondEphemeral(responseUrl: string, text: string, hosts: Set<string>): Promise<void> {
  const url = checkSlackUrl(responseUrl, hosts);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }),
    signal: AbortSignal.timeout(10_000),
  });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`Slack refused the answer to the command (HTTP ${response.status})`);
}
