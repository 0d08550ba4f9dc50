/** Serving an object with Comlink on a Unix socket (the worker side). */
import fs from 'node:fs';
import net from 'node:net';
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import { socketEndpoint, type SocketEndpoint } from './socket-endpoint.js';

/**
 * Accept only calls of the object's own top-level methods: Comlink would otherwise let a peer
 * walk any property path (e.g. `constructor.constructor`).
 */
function refusalOf(api: object, message: unknown): string | null {
  if (typeof message !== 'object' || message === null) return 'not a message';
  const { type, path } = message as { type?: unknown; path?: unknown };
  if (type === 'RAW' || type === 'HANDLER') return null; // replies to our own calls (the peer may expose an object too)
  if (type !== 'APPLY') return `${String(type)} is not supported: only method calls are`;
  if (!Array.isArray(path) || path.length !== 1 || typeof path[0] !== 'string') return 'only top-level methods may be called';
  const name = path[0];
  const own = name !== 'constructor' && !Object.prototype.hasOwnProperty.call(Object.prototype, name);
  return own && typeof (api as Record<string, unknown>)[name] === 'function' ? null : `no method ${name}`;
}

/** Answer a refused call with an error (in Comlink's wire format), so the caller does not wait. */
function refuse(endpoint: SocketEndpoint, message: unknown, reason: string): void {
  const id = (message as { id?: unknown } | null)?.id;
  if (typeof id !== 'string') return;
  endpoint.postMessage({ id, type: 'HANDLER', name: 'throw', value: { isError: true, value: { name: 'Error', message: `refused: ${reason}` } } });
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
    const endpoint: SocketEndpoint = socketEndpoint(socket, (message) => {
      const refusal = refusalOf(api, message);
      if (refusal !== null) refuse(endpoint, message, refusal);
      return refusal === null;
    });
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
