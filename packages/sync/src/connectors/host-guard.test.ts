import { once } from 'node:events';
import { Agent, createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardedLookup, isPublicAddress, parseAllowList, vetHost } from './host-guard.ts';
import { SourceError } from './source.ts';

const PUBLIC_ONLY = parseAllowList(undefined);
const resolvesTo =
  (...addresses: string[]) =>
  async () =>
    addresses.map((address) => ({ address }));

async function refusal(promise: Promise<unknown>): Promise<SourceError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SourceError) return error;
    throw error;
  }
  throw new Error('expected the host to be refused');
}

describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '0.0.0.0',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '100.64.0.1',
    '169.254.169.254',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:10.0.0.5',
    '::ffff:127.0.0.1',
    '::FFFF:169.254.169.254',
  ])('counts %s as not public', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['93.184.216.34', '172.32.0.1', '8.8.8.8', '2606:4700:4700::1111', '::ffff:93.184.216.34'])(
    'counts %s as public',
    (address) => {
      expect(isPublicAddress(address)).toBe(true);
    },
  );
});

describe('vetHost', () => {
  it('returns the address a public host resolves to, to connect to that very address', async () => {
    expect(await vetHost('sftp.example.com', PUBLIC_ONLY, resolvesTo('93.184.216.34'))).toBe('93.184.216.34');
  });

  it('refuses a host that resolves to a private address, saying so, and not as a passing problem', async () => {
    const error = await refusal(vetHost('sftp.corp', PUBLIC_ONLY, resolvesTo('10.0.0.5')));
    expect(error).toMatchObject({ kind: 'SourceUnreachable', transient: false });
    expect(error.message).toBe(
      'sftp.corp resolves to 10.0.0.5, which is a private, loopback or link-local address: connectors do not reach those unless they are on the allow-list.',
    );
    expect(error.hint).toMatch(/ask support to add .* to the allow-list \(CONNECTOR_ALLOWED_HOSTS\)/);
  });

  it('refuses a host when any of its addresses is private, whatever comes first', async () => {
    await refusal(vetHost('mixed.example.com', PUBLIC_ONLY, resolvesTo('93.184.216.34', '127.0.0.1')));
  });

  it.each(['169.254.169.254', '127.0.0.1', '[::1]', '::ffff:127.0.0.1', '0.0.0.0'])(
    'refuses the address %s written as the host, without asking DNS',
    async (host) => {
      const error = await refusal(
        vetHost(host, PUBLIC_ONLY, () => Promise.reject(new Error('DNS must not be asked'))),
      );
      expect(error.message).toMatch(new RegExp(`^${host.replace(/[[\].*]/g, '\\$&')} is a private`));
    },
  );

  it('lets an allowed range through', async () => {
    const allowList = parseAllowList('127.0.0.1/32, 10.20.0.0/16');
    expect(await vetHost('sftp.corp', allowList, resolvesTo('10.20.3.4'))).toBe('10.20.3.4');
    expect(await vetHost('127.0.0.1', allowList)).toBe('127.0.0.1');
    await refusal(vetHost('other.corp', allowList, resolvesTo('10.21.0.1')));
    await refusal(vetHost('127.0.0.2', allowList));
  });

  it('lets an allowed host name through whatever it resolves to', async () => {
    const allowList = parseAllowList(['SFTP.Corp.']);
    expect(await vetHost('sftp.corp', allowList, resolvesTo('10.0.0.5'))).toBe('10.0.0.5');
    expect(await vetHost('sftp.corp.', allowList, resolvesTo('10.0.0.5'))).toBe('10.0.0.5');
  });

  it('passes on the resolver failure for a host that does not resolve', async () => {
    const missing = Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'ENOTFOUND' });
    await expect(vetHost('nowhere.invalid', PUBLIC_ONLY, () => Promise.reject(missing))).rejects.toBe(
      missing,
    );
    await expect(vetHost('empty.example.com', PUBLIC_ONLY, resolvesTo())).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
  });
});

describe('parseAllowList', () => {
  it('reads host names, CIDR ranges and bare addresses separated by commas or spaces', () => {
    const allowList = parseAllowList(' sftp.corp,10.0.0.0/8  fd00::/8 192.168.1.7 ');
    expect([...allowList.hosts]).toEqual(['sftp.corp']);
    expect(allowList.ranges.check('10.9.9.9', 'ipv4')).toBe(true);
    expect(allowList.ranges.check('fd00::5', 'ipv6')).toBe(true);
    expect(allowList.ranges.check('192.168.1.7', 'ipv4')).toBe(true);
    expect(allowList.ranges.check('192.168.1.8', 'ipv4')).toBe(false);
  });

  it.each([
    ['10.0.0.0/33', /no valid prefix length \(0 to 32\)/],
    ['10.0.0.0/', /no valid prefix length/],
    ['10.0.0.0/8/8', /no valid prefix length/],
    ['fd00::/129', /0 to 128/],
    ['sftp.corp/24', /neither a host name nor a CIDR range/],
    ['http://sftp.corp', /neither a host name nor a CIDR range/],
    ['-rf', /neither a host name nor a CIDR range/],
  ])('refuses %j, naming it', (entry, message) => {
    expect(() => parseAllowList(entry)).toThrow(message);
  });
});

describe('guardedLookup', () => {
  const server = createServer((_request, response) => response.end('hello'));
  let port: number;
  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    server.close();
  });

  /** GET through an agent whose connections go through the guard; the body, or the request's error. */
  function fetchThrough(host: string, lookup: ReturnType<typeof guardedLookup>): Promise<string> {
    const agent = new Agent({ lookup });
    return new Promise<string>((resolve, reject) => {
      get({ host, port, path: '/', agent }, (response) => {
        let body = '';
        response.on('data', (chunk) => {
          body += chunk;
        });
        response.on('end', () => resolve(body));
      }).on('error', reject);
    }).finally(() => agent.destroy());
  }

  it('refuses, as the request error, a connection to a loopback host that is not allowed', async () => {
    const error = await refusal(fetchThrough('localhost', guardedLookup(PUBLIC_ONLY)));
    expect(error.message).toMatch(/^localhost resolves to (127\.0\.0\.1|::1), which is a private/);
  });

  it('connects to the vetted address when the allow-list lets it through', async () => {
    const allowList = parseAllowList('127.0.0.1/32');
    expect(await fetchThrough('workday.test', guardedLookup(allowList, resolvesTo('127.0.0.1')))).toBe(
      'hello',
    );
  });

  it('refuses a name whose DNS answer points inside the network', async () => {
    await refusal(fetchThrough('rebound.example.com', guardedLookup(PUBLIC_ONLY, resolvesTo('127.0.0.1'))));
  });
});
