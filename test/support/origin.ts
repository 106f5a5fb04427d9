import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  /** Node's rawHeaders: every field as received, duplicates and spelling kept. */
  rawHeaders: string[];
  headers: IncomingMessage['headers'];
  bodyBytes: number;
}

export interface Origin {
  url: string;
  port: number;
  server: Server;
  /** Every request received, in order: a test proves a request did (not) reach the origin. */
  received: RecordedRequest[];
  /** Replaces the default handler (which echoes method, url and headers as JSON). */
  handle(handler: (req: IncomingMessage, res: ServerResponse) => void): void;
  close(): Promise<void>;
}

/** An origin that records everything it receives (undici test/interceptors/cache.js style). */
export async function startOrigin(): Promise<Origin> {
  let custom: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const received: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const record: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', rawHeaders: [...req.rawHeaders], headers: req.headers, bodyBytes: 0 };
    received.push(record);
    if (custom) {
      custom(req, res);
      return;
    }
    req.on('data', (chunk: Buffer) => {
      record.bodyBytes += chunk.length;
    });
    req.on('end', () => {
      const body = JSON.stringify({ method: record.method, url: record.url, headers: req.headers, bodyBytes: record.bodyBytes });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    received,
    handle(handler) {
      custom = handler;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
}

/** Header values as the origin saw them for one (case-insensitive) name, all occurrences. */
export function headerValues(record: RecordedRequest, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < record.rawHeaders.length; i += 2) {
    if (record.rawHeaders[i]!.toLowerCase() === name.toLowerCase()) out.push(record.rawHeaders[i + 1]!);
  }
  return out;
}
