/**
 * The worker's console socket (workers/console-wire.ts): one connection per viewer, which the
 * daemon opens for each `vmstatedctl console`. A viewer that does not keep up loses output, never
 * the guest or the other viewers: past VIEWER_BACKLOG_BYTES unsent, output for it is counted and
 * dropped, and it is told how much once its connection drains.
 */
import fs from 'node:fs';
import net from 'node:net';
import { LineReader } from '../src/protocol/framing.js';
import { listenPrivate } from '../src/shared/listen-private.js';
import { MAX_LINE_BYTES } from '../src/protocol/types.js';
import type { ConsoleViewer, VmConsole } from './console.js';
import { CONSOLE_CHUNK_BYTES, type ConsoleData, type ConsoleHello, type ConsoleReply } from './console-wire.js';

const VIEWER_BACKLOG_BYTES = 64 * 1024;

class SocketViewer implements ConsoleViewer {
  private dropped = 0;

  constructor(private readonly socket: net.Socket) {
    socket.on('drain', () => this.reportDropped());
  }

  send(bytes: Buffer): void {
    if (this.socket.destroyed) return;
    if (this.socket.writableLength > VIEWER_BACKLOG_BYTES) {
      this.dropped += bytes.length;
      return;
    }
    this.reportDropped();
    for (let start = 0; start < bytes.length; start += CONSOLE_CHUNK_BYTES) {
      this.write({ out: bytes.subarray(start, start + CONSOLE_CHUNK_BYTES).toString('base64') });
    }
  }

  end(why: string): void {
    if (this.socket.destroyed) return;
    this.reportDropped();
    this.write({ end: why });
    this.socket.end();
  }

  private reportDropped(): void {
    if (this.dropped === 0) return;
    this.write({ dropped: this.dropped });
    this.dropped = 0;
  }

  private write(message: ConsoleData | ConsoleReply): void {
    this.socket.write(`${JSON.stringify(message)}\n`);
  }
}

function parseLine(line: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function serveViewer(vmConsole: VmConsole, socket: net.Socket): void {
  socket.on('error', () => {});
  const reader = new LineReader({ maxLineBytes: MAX_LINE_BYTES });
  const viewer = new SocketViewer(socket);
  let attached = false;
  socket.on('data', (chunk: Buffer) => {
    for (const item of reader.push(chunk)) {
      if (typeof item !== 'string') continue; // a line too long: not keystrokes anyone typed
      const message = parseLine(item);
      if (message === null) continue;
      if (!attached) {
        attached = true;
        const refusal = vmConsole.unavailable;
        if (refusal !== null) {
          socket.end(`${JSON.stringify({ refused: refusal } satisfies ConsoleReply)}\n`);
          return;
        }
        socket.write(`${JSON.stringify({ attached: true } satisfies ConsoleReply)}\n`);
        const { history } = message as ConsoleHello;
        vmConsole.attach(viewer, typeof history === 'number' ? history : undefined);
      } else if (typeof message.in === 'string') {
        vmConsole.input(Buffer.from(message.in, 'base64'));
      }
    }
  });
  socket.on('close', () => vmConsole.detach(viewer));
}

/** Listens on `socketPath` (0600 from the start: the guest's console is root's). */
export async function serveConsole(vmConsole: VmConsole, socketPath: string): Promise<net.Server> {
  fs.rmSync(socketPath, { force: true }); // left by a worker that was killed: this worker owns the VM now
  const server = net.createServer((socket) => serveViewer(vmConsole, socket));
  await listenPrivate(server, socketPath);
  return server;
}
