/**
 * The vmstated.sock client used by vmstatedctl (DESIGN.md section 6).
 *
 * Several requests may be in flight on one connection; replies are matched by
 * id. `events()` turns the connection into the event stream. Errors come in
 * four kinds so the CLI can say plainly what happened:
 *   DaemonUnreachableError  could not connect at all (no socket, refused, no permission)
 *   ControlError            the daemon answered with an error reply
 *   ConnectionLostError     the connection closed while a request waited
 *   ProtocolError           the daemon sent something that is not the protocol
 *   RequestTimeoutError     no reply within the caller's optional timeout
 *
 * The CLI's start-up time is measured: this file imports node:net, node:fs (which
 * Node has loaded anyway) and the small framing module only.
 */
import fs from 'node:fs';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { LineReader, encodeLine } from './framing.js';
import { MAX_LINE_BYTES, PROTOCOL_VERSION } from './types.js';
import type { Command, ErrorCode, VmEvent } from './types.js';

/** Replies (a long `status`, a `logs` page) may be longer than requests. */
export const MAX_REPLY_LINE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

export const SOCKET_HINT = 'is vmstated running? (-s / VMSTATED_SOCKET)';

export class ControlError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly cmd?: string,
    /** A failed start: bhyve's last stderr lines, when the daemon sent them. */
    readonly bhyveStderr?: string[],
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

export class DaemonUnreachableError extends Error {
  constructor(
    readonly socketPath: string,
    /** The system error code: ENOENT, ECONNREFUSED, EACCES, ETIMEDOUT, ... */
    readonly code: string,
    reason: string,
  ) {
    const hint = code === 'EACCES' || code === 'EPERM' ? `check the socket's permissions; ${SOCKET_HINT}` : SOCKET_HINT;
    super(`cannot connect to vmstated at ${socketPath}: ${reason}; ${hint}`);
    this.name = 'DaemonUnreachableError';
  }
}

export class ConnectionLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionLostError';
  }
}

export class RequestTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequestTimeoutError';
  }
}

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export interface ConnectOptions {
  /** Give up connecting after this long. Default 5000 ms. */
  timeoutMs?: number;
}

export interface RequestOptions {
  /** Reject with RequestTimeoutError when no reply came within this long. Default: wait as long as it takes. */
  timeoutMs?: number;
  /** Receives each partial result of a streaming request (`logs` with follow). */
  onData?(data: unknown): void;
}

interface Pending {
  cmd: Command;
  resolve(result: unknown): void;
  reject(error: Error): void;
  onData?(data: unknown): void;
  timer?: ReturnType<typeof setTimeout>;
}

const UNREACHABLE_REASONS: Record<string, string> = {
  ENOENT: 'no such socket (ENOENT)',
  ECONNREFUSED: 'connection refused, nothing listens on it (ECONNREFUSED)',
  EACCES: 'permission denied (EACCES)',
  EPERM: 'permission denied (EPERM)',
  ENOTDIR: 'a component of the path is not a directory (ENOTDIR)',
  ENOTSOCK: 'not a socket (ENOTSOCK)',
  ETIMEDOUT: 'timed out (ETIMEDOUT)',
};

/** Why connecting to `socketPath` failed, worded for the user: the same for every command. */
export function unreachableError(socketPath: string, error: NodeJS.ErrnoException): DaemonUnreachableError {
  const code = error.code ?? 'UNKNOWN';
  return new DaemonUnreachableError(socketPath, code, notASocket(socketPath, code) ?? UNREACHABLE_REASONS[code] ?? error.message);
}

/** connect(2) on a directory or a plain file fails as if nothing listened (Linux: ECONNREFUSED). */
function notASocket(socketPath: string, code: string): string | undefined {
  if (code !== 'ECONNREFUSED' && code !== 'ENOTSOCK') return undefined;
  try {
    const stat = fs.statSync(socketPath);
    if (stat.isDirectory()) return `it is a directory, not a socket (${code})`;
    if (!stat.isSocket()) return `it is not a socket (${code})`;
  } catch {
    // gone meanwhile: the code says enough
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class ControlClient {
  private readonly pending = new Map<string | number, Pending>();
  private readonly reader = new LineReader({ maxLineBytes: MAX_REPLY_LINE_BYTES });
  private nextId = 1;
  private closed = false;
  private closeReason: Error | null = null;
  /** The daemon's error for the whole connection (e.g. a LIMIT refusal): later requests get it too. */
  private connectionError: ControlError | null = null;
  private eventHandler: ((event: VmEvent) => void) | null = null;
  private readonly closeWaiters: Array<() => void> = [];

  private constructor(
    private readonly socket: Socket,
    readonly socketPath: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.onChunk(chunk));
    socket.on('end', () => this.onChunkEnd());
    socket.on('error', (error: Error) => {
      this.closeReason = error;
    });
    socket.on('close', () => this.onClose());
  }

  static connect(socketPath: string, options: ConnectOptions = {}): Promise<ControlClient> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const socket = netConnect({ path: socketPath });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new DaemonUnreachableError(socketPath, 'ETIMEDOUT', `no connection within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(unreachableError(socketPath, error));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new ControlClient(socket, socketPath));
      });
    });
  }

  /**
   * Sends one request and resolves with its result, or rejects: ControlError
   * for an error reply, ConnectionLostError when the connection closes first.
   */
  request<T = unknown>(cmd: Command, args: Record<string, unknown> = {}, options: RequestOptions = {}): Promise<T> {
    if (this.eventHandler !== null) {
      return Promise.reject(new ProtocolError('this connection carries the event stream; open another one for requests'));
    }
    return this.send(cmd, args, options) as Promise<T>;
  }

  /**
   * Subscribes to events: each `{"v":1,"event":...}` line goes to onEvent.
   * Resolves when the connection closes; rejects if the daemon refuses the
   * subscription with an error reply.
   */
  events(onEvent: (event: VmEvent) => void, args: Record<string, unknown> = {}, onSubscribed?: () => void): Promise<void> {
    if (this.eventHandler !== null) return Promise.reject(new ProtocolError('already subscribed to events'));
    if (this.connectionError !== null) return Promise.reject(this.connectionError);
    this.eventHandler = onEvent;
    const closed = new Promise<void>((resolve) => {
      if (this.closed) resolve();
      else this.closeWaiters.push(resolve);
    });
    // The daemon may confirm the subscription with an ok reply, or not reply
    // at all: either way the stream runs until the connection closes.
    const refused = this.send('events', args, {}).then(
      () => {
        onSubscribed?.();
        return closed;
      },
      (error: Error) => (error instanceof ConnectionLostError ? undefined : Promise.reject(error)),
    );
    return Promise.race([closed, refused]);
  }

  close(): void {
    if (this.closed) return;
    this.socket.end();
    this.socket.destroy();
  }

  /** True once the connection is closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  private send(cmd: Command, args: Record<string, unknown>, options: RequestOptions): Promise<unknown> {
    if (this.connectionError !== null) return Promise.reject(this.connectionError);
    if (this.closed) {
      return Promise.reject(new ConnectionLostError(`${cmd}: the connection to vmstated at ${this.socketPath} is closed`));
    }
    const id = this.nextId++;
    const line = encodeLine({ v: PROTOCOL_VERSION, id, cmd, args });
    if (Buffer.byteLength(line) - 1 > MAX_LINE_BYTES) {
      return Promise.reject(new ProtocolError(`${cmd}: the request is longer than ${MAX_LINE_BYTES} bytes`));
    }
    return new Promise((resolve, reject) => {
      const entry: Pending = { cmd, resolve, reject, onData: options.onData };
      if (options.timeoutMs !== undefined) {
        entry.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new RequestTimeoutError(`${cmd}: no reply from vmstated within ${options.timeoutMs} ms`));
        }, options.timeoutMs);
      }
      this.pending.set(id, entry);
      this.socket.write(line);
    });
  }

  private onChunk(chunk: Buffer): void {
    for (const item of this.reader.push(chunk)) this.onItem(item);
  }

  private onChunkEnd(): void {
    for (const item of this.reader.end()) this.onItem(item);
  }

  private onItem(item: string | Error): void {
    if (typeof item !== 'string') {
      this.fail(new ProtocolError(`vmstated sent a bad line: ${item.message}`));
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(item);
    } catch {
      this.fail(new ProtocolError(`vmstated sent a line that is not JSON: ${item.slice(0, 200)}`));
      return;
    }
    if (!isObject(message)) {
      this.fail(new ProtocolError('vmstated sent a line that is not a JSON object'));
      return;
    }
    this.onMessage(message);
  }

  private onMessage(message: Record<string, unknown>): void {
    if (message.event !== undefined && message.id === undefined) {
      if (this.eventHandler !== null && isObject(message.event)) this.eventHandler(message.event as unknown as VmEvent);
      return;
    }
    const id = message.id;
    if (id === null && message.ok === false) {
      // The daemon could not tell which request this answers (it rejected a
      // line before reading its id), or refused the connection itself (LIMIT):
      // every waiting request is in doubt, and so is any sent later.
      this.connectionError = this.errorFrom(message, undefined);
      this.fail(this.connectionError);
      return;
    }
    const entry = (typeof id === 'string' || typeof id === 'number') ? this.pending.get(id) : undefined;
    if (entry === undefined) return; // a reply to a request that timed out: nobody waits for it
    if (message.ok === undefined && 'data' in message) {
      entry.onData?.(message.data);
      return;
    }
    this.pending.delete(id as string | number);
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    if (message.ok === true) entry.resolve(message.result);
    else if (message.ok === false) entry.reject(this.errorFrom(message, entry.cmd));
    else entry.reject(new ProtocolError(`${entry.cmd}: vmstated sent a reply without "ok"`));
  }

  private errorFrom(message: Record<string, unknown>, cmd: string | undefined): ControlError {
    const error = isObject(message.error) ? message.error : {};
    const code = (typeof error.code === 'string' ? error.code : 'INTERNAL') as ErrorCode;
    const text = typeof error.message === 'string' ? error.message : 'vmstated reported an error without a message';
    const lines = Array.isArray(error.bhyveStderr) ? error.bhyveStderr.filter((line): line is string => typeof line === 'string') : undefined;
    return new ControlError(code, text, cmd, lines);
  }

  /** Rejects every waiting request and closes: the connection can no longer be trusted. */
  private fail(error: Error): void {
    this.rejectAll(error);
    this.close();
  }

  private rejectAll(error: Error): void {
    for (const entry of this.pending.values()) {
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      entry.reject(error);
    }
    this.pending.clear();
  }

  private onClose(): void {
    this.closed = true;
    const why = this.closeReason ? `: ${this.closeReason.message}` : '';
    for (const entry of this.pending.values()) {
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      entry.reject(new ConnectionLostError(`${entry.cmd}: the connection to vmstated closed before the reply${why}`));
    }
    this.pending.clear();
    for (const resolve of this.closeWaiters.splice(0)) resolve();
  }
}
