import { connectorSettings, SecretKeyError, type SyncConfiguration } from '@provisioning/db';
import type { Connector, ConnectorSettings } from '@provisioning/shared';
import { loadGoogleWorkspaceSource } from './google-workspace.connector.ts';
import { loadSftpSource } from './sftp.connector.ts';
import { type ConnectorTable, type LoadOptions, SourceError } from './source.ts';
import { loadWorkdaySource } from './workday.connector.ts';

type Loader<C extends Connector> = (
  settings: ConnectorSettings[C],
  options: LoadOptions,
) => Promise<ConnectorTable>;

/** Each connector's loader: settings (secrets opened) and options in, the source table out. */
const LOADERS: { [C in Connector]: Loader<C> } = {
  sftp: loadSftpSource,
  workday: loadWorkdaySource,
  'google-workspace': loadGoogleWorkspaceSource,
};

/** The configuration's connector, with its secrets opened, loading the source. */
export async function loadSource(
  configuration: SyncConfiguration,
  secretKey: Buffer,
  options: LoadOptions = {},
): Promise<ConnectorTable> {
  let settings: unknown;
  try {
    settings = connectorSettings(configuration, secretKey);
  } catch (error) {
    if (error instanceof SecretKeyError) {
      throw new SourceError(
        'AuthFailed',
        'The stored credentials of this configuration could not be decrypted',
        {
          hint: 'The server secret key changed or the stored value was altered: support must re-enter the credentials.',
          cause: error,
        },
      );
    }
    throw new SourceError(
      'BadResponse',
      `The stored settings are no longer valid: ${(error as Error).message}`,
      {
        hint: 'Support must correct the configuration settings.',
        cause: error,
      },
    );
  }
  const load = LOADERS[configuration.connector] as Loader<Connector>;
  return load(settings as ConnectorSettings[Connector], { mapping: configuration.mapping, ...options });
}

/** The hosts a connector with these (already valid) settings connects to, where they name any. */
export function connectorHosts(connector: SyncConfiguration['connector'], settings: unknown): string[] {
  const named = settings as Record<string, unknown>;
  const hostOf = (url: unknown) =>
    typeof url === 'string' && URL.canParse(url) ? [new URL(url).hostname] : [];
  if (connector === 'sftp' && typeof named.host === 'string') return [named.host];
  // A report's OAuth token endpoint is on the report's own host.
  if (connector === 'workday') return hostOf(named.mode === 'soap' ? named.baseUrl : named.reportUrl);
  if (connector === 'google-workspace') {
    return [...new Set([...hostOf(named.tokenUrl), ...hostOf(named.apiBaseUrl)])];
  }
  return [];
}
