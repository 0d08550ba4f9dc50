/** Serving an object with Comlink on a Unix socket (the worker side). */
import fs from 'node:fs';
import net from 'node:net';
import * as Comlink from 'comlink';
import { socketEndpoint, type SocketEndpoint } from './socket-endpoint.js';

/**
 * Accept only calls of the object's own top-level methods: Comlink would otherwise let a peer
 * walk any property path (e.g. `constructor.constructor`).
 */
function onlyMethodCallsOf(api: object): (message: unknown) => boolean {
  return (message) => {
    if (typeof message !== 'object' || message === null) return false;
    const { type, path } = message as { type?: unknown; path?: unknown };
    if (type !== 'APPLY') return true; // replies to our own calls, if the peer exposes something too
    if (!Array.isArray(path) || path.length !== 1 || typeof path[0] !== 'string') return false;
    const name = path[0];
    return name !== 'constructor' && typeof (api as Record<string, unknown>)[name] === 'function';
  };
}

export interface SocketServerOptions {
  /** Called with every new connection's endpoint (e.g. to wrap the peer's own exposed object). */
  onConnection?: (endpoint: SocketEndpoint) => void;
  /** File mode of the socket (default 0600: only its owner may connect). */
  mode?: number;
}

/**
 * Listen on `socketPath` and expose `api` to every connection. A stale socket file (nobody
 * answering) is replaced; a live one makes this reject.
 */
export async function exposeOnSocketServer(api: object, socketPath: string, options: SocketServerOptions = {}): Promise<net.Server> {
  await removeStaleSocket(socketPath);
  const server = net.createServer((socket) => {
    const endpoint = socketEndpoint(socket, onlyMethodCallsOf(api));
    Comlink.expose(api, endpoint);
    options.onConnection?.(endpoint);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  fs.chmodSync(socketPath, options.mode ?? 0o600);
  return server;
}

async function removeStaleSocket(socketPath: string): Promise<void> {
  if (!fs.existsSync(socketPath)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`${socketPath}: another process is already listening there`);
  fs.rmSync(socketPath, { force: true });
}
