import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpGate {
  host: string;
  port: number;
  /** Lets held and later connections through to the target. */
  open(): void;
  /** Resolves when a client has connected (and is being held while the gate is shut). */
  connected(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A loopback TCP forwarder that holds connections until opened: a worker's source connection waits there
 * while a test looks at the run In Progress, then goes through to the real (SFTP) server.
 */
export async function startTcpGate(target: { host: string; port: number }): Promise<TcpGate> {
  let isOpen = false;
  const held: Socket[] = [];
  const sockets = new Set<Socket>();
  let onConnection: (() => void) | undefined;
  let sawConnection = false;

  const forward = (client: Socket) => {
    const upstream = connect(target.port, target.host);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.resume();
  };

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    sawConnection = true;
    onConnection?.();
    if (isOpen) forward(client);
    else held.push(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the gate has no port');

  return {
    host: '127.0.0.1',
    port: address.port,
    open() {
      isOpen = true;
      for (const client of held.splice(0)) forward(client);
    },
    connected() {
      if (sawConnection) return Promise.resolve();
      return new Promise((resolve) => {
        onConnection = resolve;
      });
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
