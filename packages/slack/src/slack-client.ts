import { ErrorCode, type Logger, LogLevel, WebClient } from '@slack/web-api';

/** Slack's Web API, unless SLACK_API_URL names another (a local fake in tests). */
export const DEFAULT_SLACK_API_URL = 'https://slack.com/api/';

/** Seconds one call to Slack may take; the notification lease is well above it. */
export const SLACK_CALL_TIMEOUT_MS = 10_000;

export interface SlackClientOptions {
  apiUrl?: string;
  timeoutMs?: number;
  /** Where the client's own messages go; by default nowhere (we log the errors we get ourselves). */
  logger?: Logger;
}

const quiet: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  setLevel() {},
  getLevel: () => LogLevel.ERROR,
  setName() {},
};

/**
 * A WebClient for one bot token. A rate limit is thrown at once (`rejectRateLimitedCalls`; the default
 * waits inside the call, up to half an hour), and errors carry no copy of the request
 * (`attachOriginalToWebAPIRequestError: false`; the copy holds the token in its Authorization header).
 * No retries inside the client: the caller's job queue retries, so a crash never hides a post in flight.
 */
export function createSlackClient(token: string, options: SlackClientOptions = {}): WebClient {
  return new WebClient(token, {
    slackApiUrl: options.apiUrl ?? DEFAULT_SLACK_API_URL,
    rejectRateLimitedCalls: true,
    attachOriginalToWebAPIRequestError: false,
    retryConfig: { retries: 0 },
    timeout: options.timeoutMs ?? SLACK_CALL_TIMEOUT_MS,
    logger: options.logger ?? quiet,
  });
}

/** Slack platform errors that no retry will fix: the notification fails with the reason. */
export const PERMANENT_SLACK_ERRORS: Record<string, string> = {
  invalid_auth: 'Slack refused the bot token (invalid_auth): reconnect the workspace with `slack connect`.',
  token_revoked: 'The bot token was revoked (token_revoked): reconnect the workspace with `slack connect`.',
  account_inactive:
    'The Slack app or its workspace is inactive (account_inactive): reinstall the app and reconnect it.',
  channel_not_found:
    'Slack cannot find the channel (channel_not_found): check the channel ID given to `slack connect`.',
  not_in_channel:
    'The bot is not in the channel (not_in_channel): invite it there with /invite @User Provisioning.',
  is_archived: 'The channel is archived (is_archived): unarchive it or connect another channel.',
};

export type SlackFailure =
  /** 429: not done; try again after `retryAfter` seconds. */
  | { kind: 'rate-limited'; retryAfter: number; message: string }
  /** Slack answered with an error a retry will not fix. */
  | { kind: 'permanent'; code: string; message: string }
  /** Slack answered with another error (ok: false). */
  | { kind: 'platform'; code: string; message: string }
  /** No answer (network, timeout, 5xx): whether it was done is unknown. */
  | { kind: 'unknown'; message: string };

/** What a failed call to Slack means for the caller. Never carries the request (nor its token). */
export function slackFailureOf(error: unknown): SlackFailure {
  const coded = error as { code?: string; retryAfter?: number; data?: { error?: string }; message?: string };
  if (coded?.code === ErrorCode.RateLimitedError) {
    const retryAfter = Math.max(1, Math.ceil(Number(coded.retryAfter) || 1));
    return {
      kind: 'rate-limited',
      retryAfter,
      message: `Slack asked to wait ${retryAfter} s (rate limited)`,
    };
  }
  if (coded?.code === ErrorCode.PlatformError) {
    const code = String(coded.data?.error ?? 'unknown_error');
    const permanent = PERMANENT_SLACK_ERRORS[code];
    return permanent
      ? { kind: 'permanent', code, message: permanent }
      : { kind: 'platform', code, message: `Slack answered ${code}` };
  }
  return { kind: 'unknown', message: `Slack could not be reached: ${coded?.message ?? String(error)}` };
}
