/**
 * The simulator-only control channel between bhyvectl-sim and a running bhyve-sim: a Unix
 * socket per running VM, one JSON request line and one JSON reply line per connection.
 * A socket accepts connections only while its bhyve lives, so "can connect" is also the
 * liveness test (a pid in a record could have been reused by an unrelated process).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { RuntimeAction } from './guest.js';
import { socketAddress } from './paths.js';

export type ControlRequest =
  | { op: 'ping' }
  | { op: 'suspend'; how: 'reset' | 'poweroff' }
  | { op: 'destroy' }
  | { op: 'guest'; action: RuntimeAction }
  | { op: 'console'; text: string };

export type ControlReply = { ok: true; pid: number } | { ok: false; errno: number; error: string };

/** FreeBSD errno values bhyvectl reports. */
export const EALREADY = 37;
export const EEXIST = 17;

const CONNECT_TIMEOUT_MS = 2000;

/** Sends one request; resolves 'not-running' when no bhyve listens on the socket. */
export function sendControl(socketPath: string, request: ControlRequest): Promise<ControlReply | 'not-running'> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketAddress(socketPath));
    let received = '';
    let connected = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from the simulated bhyve on ${socketPath} within ${CONNECT_TIMEOUT_MS} ms`));
    }, CONNECT_TIMEOUT_MS);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify(request)}\n`);
    });
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (!connected && (error.code === 'ENOENT' || error.code === 'ECONNREFUSED')) resolve('not-running');
      else if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const line = received.split('\n')[0];
      if (line === '') {
        // Accepted but closed without a reply: the bhyve exited meanwhile.
        resolve(connected ? { ok: false, errno: EALREADY, error: 'bhyve exited' } : 'not-running');
        return;
      }
      resolve(JSON.parse(line) as ControlReply);
    });
  });
}

/** True while a bhyve answers on the socket. */
export async function isRunning(socketPath: string): Promise<boolean> {
  return (await sendControl(socketPath, { op: 'ping' })) !== 'not-running';
}

export type ControlHandler = (request: ControlRequest) => ControlReply;

/**
 * Binds the control socket, which is also the lock that makes a VM name single-instance:
 * 'busy' when a live bhyve holds it. A socket file left by a killed bhyve is replaced.
 * `afterReply` runs once the reply has been flushed (used to exit after acknowledging).
 */
export async function bindControl(
  socketPath: string,
  handler: ControlHandler,
  afterReply: (request: ControlRequest) => void,
): Promise<net.Server | 'busy'> {
  fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 3; attempt++) {
    const server = net.createServer((socket) => serveOne(socket, handler, afterReply));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(socketAddress(socketPath), () => {
          server.off('error', reject);
          resolve();
        });
      });
      return server;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
    if (await isRunning(socketPath)) return 'busy';
    try {
      fs.unlinkSync(socketPath);
    } catch {
      // Another launch removed it first; try to bind again.
    }
  }
  return 'busy';
}

function serveOne(socket: net.Socket, handler: ControlHandler, afterReply: (request: ControlRequest) => void): void {
  let received = '';
  socket.setEncoding('utf8');
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    received += chunk;
    const newline = received.indexOf('\n');
    if (newline < 0) return;
    socket.pause();
    let request: ControlRequest;
    try {
      request = JSON.parse(received.slice(0, newline)) as ControlRequest;
    } catch {
      socket.end(`${JSON.stringify({ ok: false, errno: 22, error: 'malformed request' })}\n`);
      return;
    }
    const reply = handler(request);
    let done = false;
    const finish = (): void => {
      if (done || !reply.ok) return;
      done = true;
      afterReply(request);
    };
    // Act once the reply is out, or once the client went away without reading it.
    socket.once('close', finish);
    socket.end(`${JSON.stringify(reply)}\n`, finish);
  });
}
