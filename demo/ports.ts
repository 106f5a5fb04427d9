import { createServer } from 'node:net';

/** A port the demo wants and the one it got (they differ when the wanted one was taken). */
export interface PortChoice {
  wanted: number;
  port: number;
}

/** How many ports above the wanted one are tried before giving up. */
const portAttempts = 20;

function isFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(false);
      else reject(error);
    });
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/**
 * The wanted port if it is free, else the next free one above it. Port 0 stays 0 (the
 * OS picks; tests). Another process may still take the port between this probe and the
 * real listen: the demo then fails with the listener's own EADDRINUSE message.
 */
export async function choosePort(wanted: number, host: string): Promise<PortChoice> {
  if (wanted === 0) return { wanted, port: 0 };
  for (let port = wanted; port < wanted + portAttempts && port <= 65_535; port++) {
    if (await isFree(port, host)) return { wanted, port };
  }
  throw new Error(`ports ${wanted}–${wanted + portAttempts - 1} on ${host} are all taken; pass other ports (see --help)`);
}
