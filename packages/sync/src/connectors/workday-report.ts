import { parseWorkdayReportUrl, type WorkdayRaasSettings } from '@provisioning/shared';
import { type HttpAnswer, quoteBody } from './http-request.ts';
import { type EntryRanges, findReportEntries } from './report-entries.ts';
import { type ConnectorTable, SourceError } from './source.ts';
import { fingerprintOrigin, SourceDigest } from './source-fingerprint.ts';
import { type EntrySource, entriesTable, heldEntries } from './workday-records.ts';
import { authorization, busyAnswer, quoted, sendWithRetries, type WorkdayCall } from './workday-requests.ts';

/**
 * A Workday custom report (report as a service): one JSON document `{"Report_Entry":[{...}]}`, its keys
 * the report's column aliases, read whole within maxBytes, its entries found in the bytes and each parsed
 * with JSON.parse when handed out (JSON.parse reads 50 MB in a third of a second; streaming parsers take
 * seconds; one string of the whole document and its objects would double the memory the sync needs).
 */

/** The report URL as requested: the configured one (prompts kept) with `format=json`. */
function reportRequestUrl(reportUrl: string): URL {
  const url = new URL(reportUrl);
  url.searchParams.set('format', 'json');
  return url;
}

export async function loadReport(
  call: WorkdayCall & { settings: WorkdayRaasSettings },
): Promise<ConnectorTable> {
  const { settings, options } = call;
  const parts = parseWorkdayReportUrl(settings.reportUrl)!;
  const host = new URL(settings.reportUrl).host;
  const report = `${parts.owner}/${parts.report}`;
  const name = `The Workday report ${report} on ${host}`;
  const auth = await authorization(call, parts.origin, parts.tenant);
  const url = reportRequestUrl(settings.reportUrl);
  const digest = new SourceDigest();
  const entries = await sendWithRetries(
    call,
    () => ({ method: 'GET', url, headers: { Authorization: auth, Accept: 'application/json' } }),
    (answer) => {
      const found = reportEntries(answer, name, settings);
      digest.update(answer.body);
      return found;
    },
  );
  digest.complete = true;
  if (entries.count === 0) {
    throw new SourceError('NoDataRows', `${name} returned no entries (an empty Report_Entry list).`, {
      hint: "Check the report's filters and prompt values in Workday: it found no workers. Nothing was changed.",
    });
  }
  if (entries.count > settings.maxRows) {
    throw new SourceError(
      'SizeLimitExceeded',
      `${name} returned ${entries.count.toLocaleString('en-US')} entries, more than the ${settings.maxRows.toLocaleString('en-US')} limit for this configuration (maxRows).`,
      {
        hint: 'If that many workers are expected, raise maxRows in the configuration; otherwise check the report filters.',
      },
    );
  }
  return entriesTable(entries, {
    source: `Workday report ${report} on ${host}`,
    settings,
    mapping: options.mapping,
    entryName: 'Report_Entry',
    // The report's prompts stay out of the origin, with anything else its query may carry.
    read: { origin: fingerprintOrigin(settings.reportUrl), digest },
  });
}

/** The entries of a report answer, or the error its status or body calls for. */
function reportEntries(answer: HttpAnswer, name: string, settings: WorkdayRaasSettings): EntrySource {
  const busy = busyAnswer(answer, name);
  if (busy) throw busy;
  const { status } = answer;
  const bearer = settings.oauth !== undefined;
  if (status === 401) {
    throw new SourceError(
      'AuthFailed',
      bearer
        ? `${name} refused the access token obtained with the configured OAuth credentials (HTTP 401).`
        : `${name} refused the sign-in of the Integration System User "${settings.username}" (HTTP 401).`,
      {
        hint: bearer
          ? "Check that the API client's scope includes the report's functional area, and that the refresh token belongs to the Integration System User."
          : "Check the Integration System User's password in the configuration (and that the password has not expired or been reset in Workday).",
      },
    );
  }
  if (status === 403) {
    throw new SourceError(
      'AuthFailed',
      `${name} may not be read by the Integration System User "${settings.username}" (HTTP 403).`,
      {
        hint: "Share the report with the Integration System User's security group, and enable it as a web service (report definition → Advanced → Enable As a Web Service).",
      },
    );
  }
  if (status === 404) {
    throw new SourceError('SourceNotFound', `${name} does not exist (HTTP 404).`, {
      hint: 'Check the owner and report name in reportUrl: they are the last two parts of the URL, spelled as in Workday (spaces as _).',
    });
  }
  if (status === 400) {
    throw new SourceError('BadResponse', `${name} refused the request (HTTP 400)${quoted(answer)}`, {
      hint: "Check the prompt values in reportUrl's query against the report's prompts (dates as 2016-02-02-08:00).",
    });
  }
  if (status < 200 || status >= 300) {
    throw new SourceError('BadResponse', `${name} answered HTTP ${status}${quoted(answer)}`, {
      hint: 'Check reportUrl in the configuration: it must be the report’s web service URL (…/ccx/service/customreport2/…).',
    });
  }
  const ranges = findReportEntries(answer.body);
  if (ranges) return entriesFrom(answer.body, ranges, name);
  let document: unknown;
  try {
    document = JSON.parse(answer.body.toString('utf8'));
  } catch {
    const html = /^\s*</.test(answer.body.subarray(0, 64).toString('utf8'));
    throw new SourceError(
      'BadResponse',
      html
        ? `${name} answered with a web page instead of JSON (a sign-in page?): ${quoteBody(answer.body)}`
        : `${name} answered with something that is not JSON: ${quoteBody(answer.body)}`,
      {
        hint: 'Check reportUrl: it must be the report’s web service URL (…/ccx/service/customreport2/{tenant}/{owner}/{report}), not a link to the report in the Workday page, and the report must be enabled as a web service.',
      },
    );
  }
  const entries = (document as { Report_Entry?: unknown } | null)?.Report_Entry;
  if (!Array.isArray(entries)) {
    const what =
      document === null || typeof document !== 'object' || Array.isArray(document)
        ? 'is not a JSON object'
        : entries === undefined
          ? 'has no Report_Entry list'
          : 'has a Report_Entry that is not a list';
    throw new SourceError('BadResponse', `The answer of ${name} ${what}: ${quoteBody(answer.body)}`, {
      hint: 'Check that reportUrl names an advanced custom report enabled as a web service; if it does, contact support with this message.',
    });
  }
  return heldEntries(entries);
}

/** The entries of a report document, each parsed from its bytes when asked for; the document let go at the end. */
function entriesFrom(document: Buffer, { starts, ends }: EntryRanges, name: string): EntrySource {
  let body: Buffer | null = document;
  return {
    count: starts.length,
    entryAt(index) {
      if (body === null) throw new Error('The report was read to its end already');
      const text = body.toString('utf8', starts[index], ends[index]);
      try {
        return JSON.parse(text);
      } catch (error) {
        throw new SourceError(
          'BadResponse',
          `Report_Entry ${index + 1} of ${name} is not valid JSON (${(error as Error).message}): ${text.slice(0, 100)}`,
          {
            hint: 'The answer was probably damaged on the way: the run can be retried. If it keeps happening, contact support with this message.',
          },
        );
      }
    },
    release() {
      body = null;
    },
  };
}
