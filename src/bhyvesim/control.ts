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

const ANSWER_TIMEOUT_MS = 3000;

/** What a request can come back with besides a reply. */
export type NoReply = 'not-running' | 'no-answer';

/**
 * Sends one request. 'not-running': no bhyve listens on the socket. 'no-answer': a process
 * holds the socket but did not answer in time (stopped with SIGSTOP, or swamped).
 */
export function sendControl(socketPath: string, request: ControlRequest): Promise<ControlReply | NoReply> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketAddress(socketPath));
    let received = '';
    let connected = false;
    let settled = false;
    const settle = (outcome: ControlReply | NoReply | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(() => settle(connected ? 'no-answer' : 'not-running'), ANSWER_TIMEOUT_MS);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify(request)}\n`);
    });
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!connected && (error.code === 'ENOENT' || error.code === 'ECONNREFUSED')) settle('not-running');
      else if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') settle(error);
    });
    socket.on('close', () => {
      const line = received.split('\n')[0];
      if (line !== '') settle(JSON.parse(line) as ControlReply);
      // Accepted but closed without a reply: the bhyve was exiting.
      else settle(connected ? { ok: false, errno: EALREADY, error: 'bhyve exited' } : 'not-running');
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
