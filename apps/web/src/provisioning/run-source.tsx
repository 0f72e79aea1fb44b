import { formatBytes, formatCount } from '@provisioning/shared';
import { useState } from 'react';
import type { RouterOutputs } from '../api/trpc.ts';
import { ConnectorLabel } from './connector-icon.tsx';

type Source = NonNullable<RouterOutputs['runs']['get']['source']>;

/** Characters of the SHA-256 shown; the whole is in the title and copied by the button. */
const SHORT_SHA = 12;

/**
 * The exact source the run read (its fingerprint): connector, origin, records and size, and the SHA-256
 * of the bytes, which support and the customer can compare with the file or report they hold. Nothing
 * when the run has none (still going, broke off while loading, or from before fingerprints).
 */
export function RunSource({ source }: { source: Source | null }) {
  const [copied, setCopied] = useState<'copied' | 'failed' | null>(null);
  if (!source) return null;
  const copy = () => {
    navigator.clipboard.writeText(source.sha256).then(
      () => setCopied('copied'),
      () => setCopied('failed'),
    );
  };
  const records = [
    formatCount(source.records),
    source.pages === undefined
      ? null
      : `from ${formatCount(source.pages)} ${source.pages === 1 ? 'page' : 'pages'}`,
    source.leftOutInactive ? `${formatCount(source.leftOutInactive)} inactive left out` : null,
  ];
  return (
    <section aria-labelledby="source-heading" data-testid="run-source">
      <h3 id="source-heading" className="section-heading">
        Source
      </h3>
      <dl className="facts">
        <dt>Connector</dt>
        <dd>
          <ConnectorLabel connector={source.connector} />
        </dd>
        <dt>Origin</dt>
        <dd className="source-origin">{source.origin}</dd>
        <dt>Records</dt>
        <dd>
          {records[0]}
          {records[1] && ` ${records[1]}`}
          {records[2] && ` (${records[2]})`}
        </dd>
        <dt>Size</dt>
        <dd>{formatBytes(source.bytes)}</dd>
        <dt>SHA-256</dt>
        <dd>
          <code title={source.sha256}>{source.sha256.slice(0, SHORT_SHA)}…</code>{' '}
          <button type="button" className="button button-quiet" onClick={copy}>
            Copy SHA-256
          </button>
          {copied === 'copied' && (
            <span className="muted" role="status">
              {' '}
              Copied
            </span>
          )}
          {copied === 'failed' && (
            <span role="status">
              {' '}
              The browser did not allow copying; select it here: <code>{source.sha256}</code>
            </span>
          )}
        </dd>
      </dl>
    </section>
  );
}
