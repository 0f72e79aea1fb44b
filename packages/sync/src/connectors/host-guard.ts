import type { LookupAddress, LookupOptions } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { type AllowList, SourceError } from './source.ts';

/**
 * Server-side request forgery guard for connector hosts. A configuration names a host; before connecting,
 * the host is resolved and every address it resolves to must be public, or allowed by the operator's
 * allow-list (`CONNECTOR_ALLOWED_HOSTS`: host names and CIDR ranges). Otherwise a configuration could
 * make the worker reach the cloud metadata service (169.254.169.254), the database, or anything else on
 * the worker's own network. The connector then connects to the address vetted here, not to the name, so
 * a DNS answer that changes between the check and the connection (rebinding) cannot swap it.
 */

/** Loopback, private, shared, link-local, multicast and reserved ranges: never reached unless allowed. */
const NON_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NON_PUBLIC.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NON_PUBLIC.addSubnet(network, prefix, 'ipv6');
}

/**
 * Reads an allow-list: host names and CIDR ranges (`127.0.0.1/32`, `10.20.0.0/16`, `fd00::/8`), or bare
 * addresses, separated by commas or spaces. Throws with the entry at fault.
 */
export function parseAllowList(value: string | readonly string[] | undefined): AllowList {
  const entries = (typeof value === 'string' ? value.split(/[\s,]+/) : (value ?? [])).filter(Boolean);
  const allowList: AllowList = { hosts: new Set(), ranges: new BlockList() };
  for (const entry of entries) {
    const [address, prefixText, extra] = entry.split('/');
    const family = isIP(address ?? '');
    if (family === 0) {
      if (prefixText !== undefined || !/^[a-z0-9]([a-z0-9.-]{0,252})$/i.test(entry)) {
        throw new Error(`"${entry}" is neither a host name nor a CIDR range such as 10.20.0.0/16`);
      }
      allowList.hosts.add(entry.toLowerCase().replace(/\.$/, ''));
      continue;
    }
    const max = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : -1;
    if (extra !== undefined || prefix < 0 || prefix > max) {
      throw new Error(`"${entry}" has no valid prefix length (0 to ${max})`);
    }
    allowList.ranges.addSubnet(address as string, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return allowList;
}

/** An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is that IPv4 address. */
function unmapped(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return { address: mapped[1] as string, family: 'ipv4' };
  return { address, family: isIP(address) === 4 ? 'ipv4' : 'ipv6' };
}

export function isPublicAddress(address: string): boolean {
  const { address: plain, family } = unmapped(address);
  return !NON_PUBLIC.check(plain, family);
}

/**
 * Resolves `host` and returns the address to connect to: the first one it resolves to, once every one
 * of them is public or allowed. A refusal is a permanent SourceUnreachable that says what the host
 * resolved to; a host that does not resolve throws the resolver's error (ENOTFOUND...), for the connector
 * to report as it reports any other network failure.
 */
export async function vetHost(
  host: string,
  allowList: AllowList,
  resolve: (host: string) => Promise<{ address: string }[]> = (name) => lookup(name, { all: true }),
): Promise<string> {
  const name = host.toLowerCase().replace(/\.$/, '');
  const literal = name.replace(/^\[(.*)\]$/, '$1');
  const addresses = isIP(literal) ? [{ address: literal }] : await resolve(name);
  if (addresses.length === 0) throw Object.assign(new Error(`${host} has no address`), { code: 'ENOTFOUND' });
  if (allowList.hosts.has(name)) return addresses[0]!.address;
  for (const { address } of addresses) {
    const { address: plain, family } = unmapped(address);
    if (!NON_PUBLIC.check(plain, family) || allowList.ranges.check(plain, family)) continue;
    const named = isIP(literal) ? host : `${host} resolves to ${address}, which`;
    throw new SourceError(
      'SourceUnreachable',
      `${named} is a private, loopback or link-local address: connectors do not reach those unless they are on the allow-list.`,
      {
        hint: 'If this server is inside your network on purpose, ask support to add its host or address range to the allow-list (CONNECTOR_ALLOWED_HOSTS). Otherwise check the host in the configuration.',
      },
    );
  }
  return addresses[0]!.address;
}

/** The `lookup` a socket calls (net.connect, http.Agent): every form node uses, `all` included. */
export type SocketLookup = (
  hostname: string,
  options: LookupOptions,
  callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
) => void;

/**
 * A `lookup` for HTTP agents (`new https.Agent({ lookup })`, or gaxios's `agent`) that connects only to
 * an address vetHost accepted: the same guard as SFTP's, applied at every connection to a host name an
 * HTTP client opens. A refusal surfaces as the request's error: the SourceError itself. Node does not
 * call `lookup` for a URL whose host is an IP address: the connector vets such a host itself, with
 * vetHost, before the request (both HTTP connectors do).
 */
export function guardedLookup(
  allowList: AllowList,
  resolve?: (host: string) => Promise<{ address: string }[]>,
): SocketLookup {
  return (hostname, options, callback) => {
    vetHost(hostname, allowList, resolve).then(
      (address) => {
        const family = isIP(address);
        if (options.all) callback(null, [{ address, family }]);
        else callback(null, address, family);
      },
      (error: Error) => callback(error, ''),
    );
  };
}

/** `CONNECTOR_ALLOWED_HOSTS` as the apps' env.ts read it: the text, refused with the entry at fault. */
export const AllowListTextSchema = z
  .string()
  .optional()
  .superRefine((value, context) => {
    try {
      parseAllowList(value);
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });

/**
 * Why a connector would not reach `host`, for support to read when a configuration is created (the run
 * would end Data Load Failed); null when it would. Asked from the machine creating the configuration,
 * whose DNS may differ from the worker's.
 */
export async function hostWarning(host: string, allowList: AllowList): Promise<string | null> {
  try {
    await vetHost(host, allowList);
    return null;
  } catch (error) {
    if (error instanceof SourceError) return `${error.message} ${error.hint}`;
    const code = (error as NodeJS.ErrnoException).code;
    return `${host} could not be resolved from here (${code ?? (error as Error).message}): check the host name.`;
  }
}
