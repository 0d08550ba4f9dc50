/** Calling an object exposed with Comlink on a Unix socket (the registry side). */
import net from 'node:net';
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import type { WorkerApi } from '../../workers/api.js';
import { socketEndpoint, type SocketEndpoint } from './socket-endpoint.js';

export interface RemoteConnection<T> {
  /** Every call rejects once the connection is lost, instead of waiting forever. */
  api: Comlink.Remote<T>;
  /** The endpoint, e.g. to `Comlink.expose` an object of our own to the peer on the same socket. */
  endpoint: SocketEndpoint;
  close(): void;
  /** Called once when the connection ends (closed by either side, or lost). */
  onClose(callback: () => void): void;
  isClosed(): boolean;
}

export class ConnectionLostError extends Error {
  constructor(socketPath: string) {
    super(`connection to ${socketPath} lost`);
    this.name = 'ConnectionLostError';
  }
}

/** Connect to `socketPath`, giving up after `timeoutMs`. */
export function connectSocket(socketPath: string, timeoutMs: number): Promise<SocketEndpoint> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${socketPath}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socketEndpoint(socket));
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${socketPath}: ${error.message}`));
    });
  });
}

/** Wrap an endpoint so that every method call rejects when the connection is lost. */
export function wrapEndpoint<T>(endpoint: SocketEndpoint, socketPath: string): RemoteConnection<T> {
  const remote = Comlink.wrap<T>(endpoint) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  // The calls still waiting, rejected when the connection goes. Not a race of each call against
  // one promise of the connection's end: every race left a reaction on that promise, holding the
  // call's result, for as long as the connection lived (months, for a worker's).
  const waiting = new Set<(error: Error) => void>();
  // Comlink makes a proxy (registered with a FinalizationRegistry) at each property read: one per
  // method, kept, instead of one per call for the garbage collector.
  const methods = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  const method = (name: string): ((...args: unknown[]) => Promise<unknown>) => {
    let found = methods.get(name);
    if (found === undefined) methods.set(name, (found = remote[name]!));
    return found;
  };
  void endpoint.closed.then(() => {
    for (const reject of waiting) reject(new ConnectionLostError(socketPath));
    waiting.clear();
  });
  const api = new Proxy(
    {},
    {
      get(_target, property) {
        if (typeof property !== 'string' || property === 'then') return undefined;
        return (...args: unknown[]) => {
          if (endpoint.isClosed()) return Promise.reject(new ConnectionLostError(socketPath));
          return new Promise((resolve, reject) => {
            waiting.add(reject);
            method(property)(...args).then(resolve, reject).finally(() => waiting.delete(reject));
          });
        };
      },
    },
  ) as Comlink.Remote<T>;
  return {
    api,
    endpoint,
    close: () => endpoint.close(),
    onClose: (callback) => void endpoint.closed.then(callback),
    isClosed: () => endpoint.isClosed(),
  };
}

/** Connect to a VM worker's socket (`<rundir>/<vm>.sock`). */
export async function connectWorker(socketPath: string, timeoutMs: number): Promise<RemoteConnection<WorkerApi>> {
  return wrapEndpoint<WorkerApi>(await connectSocket(socketPath, timeoutMs), socketPath);
}
