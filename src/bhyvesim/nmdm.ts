/**
 * nmdm(4) for systems without it (the simulator's Linux stand-in), under the simulator's state
 * directory: the pair `/dev/nmdm<x>A` + `/dev/nmdm<x>B` is the Unix socket `<state>/nmdm/nmdm<x>`.
 * The B side (vmstated's console worker) listens on it; the A side (the simulated bhyve's com1)
 * connects to it.
 *
 * What it keeps of nmdm (sys/dev/nmdm/nmdm.c), the parts vmstated relies on:
 * - either side opens and closes at any time, in any order: the A side connects when the B side
 *   listens, and reconnects when a B side comes back (a restarted worker);
 * - bytes written while the other side is not open are lost (nmdm_task_tty() moves bytes only
 *   into an open peer; bhyve's non-blocking writes then fail and it drops them, uart_backend.c);
 * - bhyve keeps its side while the worker is replaced. Here its A side has to reconnect to the new
 *   worker's socket: what the new worker writes meanwhile waits for it, for RECONNECT_GRACE_MS, as
 *   the real pair, open on bhyve's side all along, would have taken it.
 * On FreeBSD the real devices are used instead (workers/console-device.ts, src/shared/tty-device.ts).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { listenPrivate } from '../shared/listen-private.js';
import { socketAddress } from './paths.js';

/** How often a disconnected A side tries the B side again. */
const RECONNECT_MS = 100;
/** How long the B side keeps bytes while no A side is connected: one that reconnects is there by then. */
const RECONNECT_GRACE_MS = 10 * RECONNECT_MS;
/** Bytes queued for a peer beyond which more are dropped: a console never blocks a writer. */
const MAX_QUEUED_BYTES = 64 * 1024;

/** One side of a console line: bytes in, bytes out, never blocking the writer. */
export interface ConsoleChannel {
  /** Bytes from the other side. */
  onData(listener: (chunk: Buffer) => void): void;
  /** Sends bytes to the other side; false when they were dropped (nobody there, or it does not read). */
  write(data: Buffer): boolean;
  close(): void;
}

/** The emulated pair's socket for an nmdm device path, or null when `device` is no nmdm device. */
export function emulatedNmdmSocket(stateDir: string, device: string): string | null {
  const match = /^\/dev\/(nmdm[^/]+)[AB]$/.exec(device);
  return match === null ? null : path.join(stateDir, 'nmdm', match[1]);
}

function sendBounded(socket: net.Socket | null, data: Buffer): boolean {
  if (socket === null || socket.destroyed || !socket.writable || socket.writableLength > MAX_QUEUED_BYTES) return false;
  socket.write(data);
  return true;
}

/**
 * Opens the B side: listens on the pair's socket (mode 0600, so only its owner reaches the guest),
 * replacing what a dead holder left. The latest A side to connect is the peer.
 */
export async function listenEmulatedNmdm(socketPath: string): Promise<ConsoleChannel> {
  fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
  fs.rmSync(socketPath, { force: true });
  const listeners: Array<(chunk: Buffer) => void> = [];
  let peer: net.Socket | null = null;
  const awaitingPeer = new GraceQueue(RECONNECT_GRACE_MS);
  const server = net.createServer((socket) => {
    peer?.destroy();
    peer = socket;
    for (const data of awaitingPeer.take()) sendBounded(socket, data);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => listeners.forEach((listener) => listener(chunk)));
    socket.on('close', () => {
      if (peer === socket) peer = null;
    });
  });
  await listenPrivate(server, socketAddress(socketPath));
  return {
    onData: (listener) => void listeners.push(listener),
    write: (data) => (peer === null ? awaitingPeer.hold(data) : sendBounded(peer, data)),
    close: () => {
      awaitingPeer.take();
      server.close();
      peer?.destroy();
      fs.rmSync(socketPath, { force: true });
    },
  };
}

/** Bytes that wait a little while for a peer, then are dropped; at most MAX_QUEUED_BYTES of them. */
class GraceQueue {
  private queued: Buffer[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly graceMs: number) {}

  hold(data: Buffer): boolean {
    if (this.bytes + data.length > MAX_QUEUED_BYTES) return false;
    this.queued.push(data);
    this.bytes += data.length;
    this.timer ??= setTimeout(() => this.take(), this.graceMs).unref();
    return true;
  }

  /** What waits, emptying the queue. */
  take(): Buffer[] {
    const queued = this.queued;
    this.queued = [];
    this.bytes = 0;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    return queued;
  }
}

/**
 * The A side, as the simulated bhyve opens its com1: connects to the pair's socket, and while no
 * B side is there, drops what is written and tries again every RECONNECT_MS. Bytes written while
 * a connection attempt is under way wait for its outcome, so a guest's first lines reach a B side
 * that was open before bhyve started (as the worker's is).
 */
export class EmulatedNmdmA implements ConsoleChannel {
  private socket: net.Socket | null = null;
  private connecting: Buffer[] | null = null;
  private readonly listeners: Array<(chunk: Buffer) => void> = [];
  private closed = false;

  constructor(private readonly socketPath: string) {
    this.connect();
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.listeners.push(listener);
  }

  /**
   * While connected, nothing is dropped: the worker reads whatever comes, and tests count every
   * line of a flood (real bhyve drops bytes the tty does not take at once).
   */
  write(data: Buffer): boolean {
    if (this.connecting !== null) {
      this.connecting.push(data);
      return true;
    }
    if (this.socket === null || this.socket.destroyed) return false;
    this.socket.write(data);
    return true;
  }

  /** Calls `then` once what was written left (or could not be sent). */
  flush(then: () => void): void {
    if (this.socket === null || this.connecting !== null || this.socket.writableLength === 0) then();
    else this.socket.write('', () => then());
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
  }

  private connect(): void {
    if (this.closed) return;
    this.connecting = [];
    let address: string;
    try {
      address = socketAddress(this.socketPath);
    } catch {
      this.connecting = null;
      return; // a state dir too deep for a socket: the console is lost, the guest runs on
    }
    const socket = net.connect(address);
    socket.on('error', () => {});
    socket.once('connect', () => {
      this.socket = socket;
      const queued = this.connecting ?? [];
      this.connecting = null;
      for (const data of queued) socket.write(data);
    });
    socket.on('data', (chunk: Buffer) => this.listeners.forEach((listener) => listener(chunk)));
    socket.once('close', () => {
      if (this.socket === socket) this.socket = null;
      this.connecting = null; // a failed attempt drops what waited for it
      setTimeout(() => this.connect(), RECONNECT_MS).unref();
    });
  }
}

/**
 * The simulated bhyve's com1 when the config names an nmdm device: the real device on FreeBSD,
 * the emulation elsewhere. Null for any other path (the console then stays on stdout).
 */
export async function openSimulatedCom1(device: string | undefined, stateDir: string): Promise<(ConsoleChannel & { flush(then: () => void): void }) | null> {
  if (device === undefined) return null;
  const socketPath = emulatedNmdmSocket(stateDir, device);
  if (socketPath === null) return null;
  if (process.platform !== 'freebsd') return new EmulatedNmdmA(socketPath);
  // Loaded only here: koffi is not worth loading at every simulated boot elsewhere.
  const { openRawTerminal } = await import('../shared/tty-device.js');
  const terminal = openRawTerminal(device);
  terminal.on('error', () => {});
  return {
    onData: (listener) => void terminal.on('data', listener),
    write: (data) => terminal.write(data),
    flush: (then) => void terminal.write('', () => then()),
    close: () => terminal.destroy(),
  };
}
