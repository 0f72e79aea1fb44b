import { CONNECTOR_LABELS, type Connector } from '@provisioning/shared';

/** Each source's mark: a small, recognisable glyph beside its name (decorative: the name is the label). */
function Glyph({ connector }: { connector: Connector }) {
  switch (connector) {
    case 'google-workspace':
      return (
        <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
          <path
            fill="#4285F4"
            d="M21.6 12.2c0-.7-.1-1.3-.2-1.9H12v3.6h5.4a4.6 4.6 0 0 1-2 3v2.5h3.2c1.9-1.7 3-4.3 3-7.2z"
          />
          <path
            fill="#34A853"
            d="M12 22c2.7 0 5-.9 6.6-2.4l-3.2-2.5c-.9.6-2 1-3.4 1-2.6 0-4.8-1.8-5.6-4.1H3.1v2.6A10 10 0 0 0 12 22z"
          />
          <path fill="#FBBC05" d="M6.4 14c-.2-.6-.3-1.3-.3-2s.1-1.4.3-2V7.4H3.1a10 10 0 0 0 0 9.2L6.4 14z" />
          <path
            fill="#EA4335"
            d="M12 6c1.5 0 2.8.5 3.8 1.5l2.9-2.9A10 10 0 0 0 3.1 7.4L6.4 10C7.2 7.7 9.4 6 12 6z"
          />
        </svg>
      );
    case 'workday':
      return (
        <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
          <circle cx="12" cy="12" r="10" fill="#0875E1" />
          <path
            d="M6.5 9.5l2 6 2-5 1.5 3.6 1.5-3.6 2 5 2-6"
            fill="none"
            stroke="#fff"
            strokeWidth="1.6"
            strokeLinecap="round"
            strokeLinejoin="round"
          />
          <path
            d="M7 7.2a7 7 0 0 1 10 0"
            fill="none"
            stroke="#F5A623"
            strokeWidth="1.6"
            strokeLinecap="round"
          />
        </svg>
      );
    case 'sftp':
      return (
        <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
          <rect x="3" y="4" width="18" height="7" rx="1.5" fill="#475467" />
          <rect x="3" y="13" width="18" height="7" rx="1.5" fill="#667085" />
          <circle cx="7" cy="7.5" r="1.2" fill="#7CD4A6" />
          <circle cx="7" cy="16.5" r="1.2" fill="#7CD4A6" />
          <path d="M11 7.5h6M11 16.5h6" stroke="#fff" strokeWidth="1.4" strokeLinecap="round" />
        </svg>
      );
  }
}

export function ConnectorLabel({ connector }: { connector: Connector }) {
  return (
    <span className="connector">
      <span className="connector-icon">
        <Glyph connector={connector} />
      </span>
      <span className="connector-name">{CONNECTOR_LABELS[connector]}</span>
    </span>
  );
}
