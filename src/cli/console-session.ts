/**
 * One `console` request on its own connection to vmstated (vmstated(8), CONTROL PROTOCOL,
 * console): attach, then guest output as it comes and keystrokes as `console-input` lines, until
 * the console ends (the VM stopped), vmstated ends it with an error (a reload withdrew the user's
 * access), the connection is lost, or the caller closes it.
 * ControlClient (src/protocol/client.ts) stops listening to a request once it is answered; a
 * console goes on after its answer, so it speaks the protocol here itself.
 */
import net from 'node:net';
import { ControlError, DaemonUnreachableError, unreachableError } from '../protocol/client.js';
import { LineReader, encodeLine } from '../protocol/framing.js';
import { PROTOCOL_VERSION } from '../protocol/types.js';
import type { ErrorCode } from '../protocol/types.js';

/** Keystrokes per `console-input` line; a paste is sent in pieces. */
const INPUT_CHUNK_BYTES = 4096;
const CONSOLE_ID = 1;

export interface ConsoleRequest {
  vm: string;
  /** Lines of recent output to replay; undefined: all the daemon keeps (64 KiB); 0: none. */
  history?: number;
  readOnly: boolean;
}

export type ConsoleEnd =
  | { kind: 'detached' }
  | { kind: 'ended'; why: string }
  | { kind: 'lost'; why: string }
  /** The console request's own error, after it was attached: vmstated ended the console. */
  | { kind: 'refused'; error: ControlError };

export interface ConsoleHandlers {
  /** Bytes the guest printed. Return false to pause the stream until resume() (e.g. stdout is full). */
  output(bytes: Buffer): boolean;
  /** Something to tell the user (output dropped, keystrokes refused). */
  notice(text: string): void;
}

type Message = Record<string, unknown>;

export class ConsoleSession {
  private readonly reader = new LineReader({ maxLineBytes: 1024 * 1024 });
  private nextId = CONSOLE_ID + 1;
  private finished: ((end: ConsoleEnd) => void) | null = null;
  /** What came after the answer, until start(): the caller sets up the terminal first. */
  private held: Message[] | null = [];
  readonly ended: Promise<ConsoleEnd>;

  private constructor(
    private readonly socket: net.Socket,
    private readonly handlers: ConsoleHandlers,
  ) {
    this.ended = new Promise((resolve) => (this.finished = resolve));
  }

  /** Connects and attaches; rejects with DaemonUnreachableError or the daemon's ControlError. */
  static async attach(socketPath: string, request: ConsoleRequest, handlers: ConsoleHandlers): Promise<ConsoleSession> {
    const socket = await connect(socketPath);
    const session = new ConsoleSession(socket, handlers);
    await session.request(request);
    return session;
  }

  /** Keystrokes for the guest. */
  send(bytes: Buffer): void {
    for (let start = 0; start < bytes.length; start += INPUT_CHUNK_BYTES) {
      const data = bytes.subarray(start, start + INPUT_CHUNK_BYTES).toString('base64');
      this.socket.write(encodeLine({ v: PROTOCOL_VERSION, id: this.nextId++, cmd: 'console-input', args: { console: CONSOLE_ID, data } }));
    }
  }

  /** Starts handing out output (the replayed history first). */
  start(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const message of held) this.onMessage(message);
  }

  resume(): void {
    this.socket.resume();
  }

  /** Detaches (the user asked): the VM and its console go on. */
  close(): void {
    this.end({ kind: 'detached' });
  }

  private request(request: ConsoleRequest): Promise<void> {
    const args: Message = { vm: request.vm, readOnly: request.readOnly };
    if (request.history !== undefined) args.history = request.history;
    return new Promise((resolve, reject) => {
      let answered = false;
      this.socket.on('data', (chunk: Buffer) => {
        for (const item of this.reader.push(chunk)) {
          const message = typeof item === 'string' ? parse(item) : null;
          if (message === null) continue;
          if (answered) this.held === null ? this.onMessage(message) : this.held.push(message);
          else if (message.id === CONSOLE_ID && message.ok !== undefined) {
            answered = true;
            if (message.ok === true) resolve();
            else reject(controlError(message));
          }
        }
      });
      this.socket.on('close', () => {
        if (!answered) reject(new DaemonUnreachableError('vmstated', 'ECONNRESET', 'the connection closed before the console was attached'));
        this.end({ kind: 'lost', why: 'the connection to vmstated was lost' });
      });
      this.socket.write(encodeLine({ v: PROTOCOL_VERSION, id: CONSOLE_ID, cmd: 'console', args }));
    });
  }

  private onMessage(message: Message): void {
    const data = message.data as Message | undefined;
    if (message.id === CONSOLE_ID && typeof data === 'object' && data !== null) {
      if (typeof data.out === 'string' && !this.handlers.output(Buffer.from(data.out, 'base64'))) this.socket.pause();
      if (typeof data.dropped === 'number') this.handlers.notice(`${data.dropped} bytes of console output were dropped: this terminal did not keep up`);
      if (typeof data.end === 'string') this.end({ kind: 'ended', why: data.end });
    } else if (message.ok === false && message.id === CONSOLE_ID) {
      this.end({ kind: 'refused', error: controlError(message) });
    } else if (message.ok === false) {
      this.handlers.notice(controlError(message).message.replace(/^request \S+ \([a-z-]+\): /, ''));
    }
  }

  private end(end: ConsoleEnd): void {
    const finished = this.finished;
    if (finished === null) return;
    this.finished = null;
    this.socket.destroy();
    finished(end);
  }
}

function parse(line: string): Message | null {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Message) : null;
  } catch {
    return null;
  }
}

function controlError(message: Message): ControlError {
  const error = (message.error ?? {}) as { code?: string; message?: string };
  return new ControlError((error.code ?? 'INTERNAL') as ErrorCode, error.message ?? 'vmstated refused the console', 'console');
}

function connect(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path: socketPath });
    socket.once('error', (error: NodeJS.ErrnoException) => reject(unreachableError(socketPath, error)));
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      socket.on('error', () => {}); // 'close' follows and ends the session
      resolve(socket);
    });
  });
}
