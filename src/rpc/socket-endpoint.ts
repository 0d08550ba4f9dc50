/**
 * A Comlink Endpoint over a stream socket: one JSON message per line.
 *
 * Comlink's messages are plain data (we never transfer ports or proxies), so JSON carries them.
 * One caveat of JSON versus structured clone: `undefined` inside arrays arrives as `null`, and
 * `undefined` object fields vanish. Both directions may share one socket: Comlink's `expose` ignores
 * replies and `wrap` ignores requests, and message ids are random.
 */
import type net from 'node:net';
import type { Endpoint } from 'comlink';

/** A message line larger than this ends the connection (a peer that is not speaking our protocol). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

type MessageListener = (event: { data: unknown }) => void;
/** Comlink's listener type (a DOM EventListenerOrEventListenerObject); we only ever get functions. */
type ComlinkListener = Parameters<Endpoint['addEventListener']>[1];

export interface SocketEndpoint extends Endpoint {
  readonly socket: net.Socket;
  /** Resolves once the socket is closed, for whatever reason. */
  readonly closed: Promise<void>;
  isClosed(): boolean;
  close(): void;
}

export function socketEndpoint(socket: net.Socket, accept: (message: unknown) => boolean = () => true): SocketEndpoint {
  const listeners = new Set<MessageListener>();
  let buffered = '';
  let closed = false;
  let markClosed: () => void = () => {};
  const closedPromise = new Promise<void>((resolve) => (markClosed = resolve));

  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.length > MAX_MESSAGE_BYTES && !buffered.includes('\n')) {
      socket.destroy(new Error(`rpc message longer than ${MAX_MESSAGE_BYTES} bytes`));
      return;
    }
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line.trim() !== '') deliver(line);
    }
  });
  socket.on('error', () => {}); // 'close' follows; callers learn of it through `closed`.
  socket.on('close', () => {
    closed = true;
    markClosed();
  });

  function deliver(line: string): void {
    let data: unknown;
    try {
      data = JSON.parse(line);
    } catch {
      socket.destroy(new Error('rpc peer sent a line that is not JSON'));
      return;
    }
    if (!accept(data)) return;
    for (const listener of [...listeners]) listener({ data });
  }

  return {
    socket,
    closed: closedPromise,
    isClosed: () => closed,
    close: () => socket.destroy(),
    postMessage(message: unknown): void {
      if (closed || socket.destroyed) return;
      socket.write(JSON.stringify(message) + '\n');
    },
    addEventListener(type: string, listener: ComlinkListener): void {
      if (type === 'message' && typeof listener === 'function') listeners.add(listener as unknown as MessageListener);
    },
    removeEventListener(type: string, listener: ComlinkListener): void {
      if (type === 'message' && typeof listener === 'function') listeners.delete(listener as unknown as MessageListener);
    },
  };
}
