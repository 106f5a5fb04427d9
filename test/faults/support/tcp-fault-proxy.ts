import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * What the proxy does with each new connection:
 * - `pass`: pipe both ways to the target
 * - `delay`: pipe, but hold every chunk from the target for `delayMs`
 * - `blackhole`: accept and read, never answer (a hung peer with an open socket)
 * - `reset`: accept, then RST at once (a peer that crashed)
 */
export type FaultMode = 'pass' | 'delay' | 'blackhole' | 'reset';

export interface TcpFaultProxy {
  readonly port: number;
  readonly url: string;
  mode: FaultMode;
  delayMs: number;
  /** Connections accepted so far (a test proves a client stopped trying). */
  readonly accepted: number;
  /** Connections currently open on the client side. */
  readonly openConnections: number;
  /** Resets every open connection now (whatever the mode). */
  resetAll(): void;
  close(): Promise<void>;
}

/** A loopback TCP proxy in front of `targetPort` that delays, drops or resets on demand. */
export async function startTcpFaultProxy(targetPort: number, options: { mode?: FaultMode; delayMs?: number; scheme?: string } = {}): Promise<TcpFaultProxy> {
  const sockets = new Set<Socket>();
  const state = { mode: options.mode ?? 'pass', delayMs: options.delayMs ?? 0, accepted: 0 };
  const server = createServer((client) => {
    state.accepted++;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    const mode = state.mode;
    if (mode === 'reset') {
      client.resetAndDestroy();
      return;
    }
    if (mode === 'blackhole') {
      client.resume();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.resetAndDestroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    if (mode === 'delay') {
      upstream.on('data', (chunk: Buffer) => {
        const timer = setTimeout(() => client.writable && client.write(chunk), state.delayMs);
        client.once('close', () => clearTimeout(timer));
      });
    } else {
      upstream.pipe(client);
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `${options.scheme ?? 'http'}://127.0.0.1:${port}`,
    get mode() {
      return state.mode;
    },
    set mode(next: FaultMode) {
      state.mode = next;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(next: number) {
      state.delayMs = next;
    },
    get accepted() {
      return state.accepted;
    },
    get openConnections() {
      let count = 0;
      for (const socket of sockets) if (socket.remotePort !== targetPort) count++;
      return count;
    },
    resetAll() {
      for (const socket of sockets) socket.resetAndDestroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
}
