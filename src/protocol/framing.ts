/**
 * JSON-lines framing for vmstated.sock (DESIGN.md section 6).
 *
 * Reading: bytes are cut at "\n" (a "\r" before it is dropped), each line is
 * decoded as strict UTF-8. A line longer than the limit is reported once as a
 * `too-long` error and its bytes are discarded up to the next newline; the
 * connection stays usable (the caller may still decide to close it). Memory per
 * connection stays below the limit plus one socket chunk, whatever the peer sends.
 *
 * Writing: `LineWriter` keeps track of what the kernel has not taken yet; when
 * a peer stops reading and the queue passes a cap, the connection is destroyed
 * instead of buffering without bound.
 *
 * Imports only types and constants (no runtime modules): the CLI loads this.
 */
import type { Socket } from 'node:net';
import { MAX_LINE_BYTES } from './types.js';

export type FramingErrorKind = 'too-long' | 'bad-utf8';

export class FramingError extends Error {
  constructor(
    readonly kind: FramingErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'FramingError';
  }
}

export interface LineReaderOptions {
  /** Longest accepted line in bytes, line terminator excluded. Default MAX_LINE_BYTES. */
  maxLineBytes?: number;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Turns a byte stream into lines. Pure (no I/O) so it can be fed any chunking.
 * `push` returns what the chunk completed: lines (strings, blank lines skipped)
 * and errors, in stream order.
 */
export class LineReader {
  private readonly maxLineBytes: number;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** True while skipping the rest of a line that was already reported as too long. */
  private discarding = false;

  constructor(options: LineReaderOptions = {}) {
    this.maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
  }

  push(chunk: Buffer): Array<string | FramingError> {
    const out: Array<string | FramingError> = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline === -1) {
        this.keep(chunk.subarray(start), out);
        break;
      }
      const segment = chunk.subarray(start, newline);
      start = newline + 1;
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      this.finishLine(segment, out);
    }
    return out;
  }

  /** The stream ended: a last line without a newline still counts. */
  end(): Array<string | FramingError> {
    const out: Array<string | FramingError> = [];
    if (!this.discarding && this.pendingBytes > 0) this.finishLine(Buffer.alloc(0), out);
    this.pending = [];
    this.pendingBytes = 0;
    this.discarding = false;
    return out;
  }

  /** Bytes held for an unfinished line (for tests and diagnostics). */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  private keep(segment: Buffer, out: Array<string | FramingError>): void {
    if (this.discarding || segment.length === 0) return;
    this.pending.push(segment);
    this.pendingBytes += segment.length;
    // One byte of slack: the line may still end in "\r\n", and "\r" does not count.
    if (this.pendingBytes > this.maxLineBytes + 1) {
      out.push(this.tooLong());
      this.pending = [];
      this.pendingBytes = 0;
      this.discarding = true;
    }
  }

  private finishLine(lastSegment: Buffer, out: Array<string | FramingError>): void {
    let line = this.pending.length === 0 ? lastSegment : Buffer.concat([...this.pending, lastSegment]);
    this.pending = [];
    this.pendingBytes = 0;
    if (line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN) line = line.subarray(0, line.length - 1);
    if (line.length > this.maxLineBytes) {
      out.push(this.tooLong());
      return;
    }
    let text: string;
    try {
      text = this.decoder.decode(line);
    } catch {
      out.push(new FramingError('bad-utf8', 'the line is not valid UTF-8'));
      return;
    }
    if (text.trim() !== '') out.push(text);
  }

  private tooLong(): FramingError {
    return new FramingError(
      'too-long',
      `the line is longer than ${this.maxLineBytes} bytes; it was discarded up to the next newline`,
    );
  }
}

export interface ReadLinesHandlers {
  onLine(line: string): void;
  onError(error: FramingError): void;
  /** The peer ended its side (after the last line was delivered). */
  onEnd?(): void;
}

/** Feeds a socket's data to a LineReader and hands out lines and errors in order. */
export function readLines(socket: Socket, handlers: ReadLinesHandlers, options: LineReaderOptions = {}): LineReader {
  const reader = new LineReader(options);
  const deliver = (items: Array<string | FramingError>): void => {
    for (const item of items) {
      if (socket.destroyed) return;
      if (typeof item === 'string') handlers.onLine(item);
      else handlers.onError(item);
    }
  };
  socket.on('data', (chunk: Buffer | string) => {
    deliver(reader.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk));
  });
  socket.on('end', () => {
    deliver(reader.end());
    handlers.onEnd?.();
  });
  return reader;
}

/**
 * A message already encoded as compact JSON (one line, no newline): written as it is. The daemon
 * builds its `status` reply from per-VM JSON kept since each VM last changed, instead of
 * encoding every VM again for every request.
 */
export class EncodedMessage {
  /** The JSON's pieces, in order; a Buffer is UTF-8 kept encoded, written again without re-encoding. */
  constructor(readonly parts: ReadonlyArray<string | Buffer>) {}

  get json(): string {
    return this.parts.map((part) => (typeof part === 'string' ? part : part.toString('utf8'))).join('');
  }
}

/** One protocol line: compact JSON and a newline. */
export function encodeLine(message: unknown): string {
  return (message instanceof EncodedMessage ? message.json : JSON.stringify(message)) + '\n';
}

/** Default cap on bytes queued for a peer that does not read (4 MiB). */
export const DEFAULT_MAX_QUEUED_BYTES = 4 * 1024 * 1024;

export interface LineWriterOptions {
  /** Bytes that may wait in the socket's queue before the connection is closed. */
  maxQueuedBytes?: number;
  /** Called once when the connection is destroyed because the peer stopped reading. */
  onOverflow?(queuedBytes: number): void;
  /**
   * Told of every byte written (`queued`) and of when the kernel took it, or the socket was
   * destroyed with it unsent (`taken`): the daemon counts a user's unread replies (reply-budget.ts).
   */
  account?: { queued(bytes: number): void; taken(bytes: number): void };
}

/**
 * Writes lines to a socket and closes it when a peer stops reading: a slow
 * `events` subscriber or a script that never reads must not make the daemon
 * hold an unbounded amount of memory.
 */
export class LineWriter {
  private readonly maxQueuedBytes: number;
  private overflowed = false;

  constructor(
    private readonly socket: Socket,
    private readonly options: LineWriterOptions = {},
  ) {
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
  }

  /**
   * Queues one message. Returns false when it was not queued: the socket is
   * closed, or it was closed now because the peer left more than the cap unread.
   */
  write(message: unknown): boolean {
    if (this.socket.destroyed || !this.socket.writable) return false;
    // The backlog is checked before this message is added: a peer that reads
    // gets even a reply larger than the cap, one that does not is cut off
    // with at most the cap plus one message queued.
    if (this.socket.writableLength > this.maxQueuedBytes) {
      this.overflow();
      return false;
    }
    if (message instanceof EncodedMessage) {
      // One writev for the pieces: a large cached reply goes out without being copied or re-encoded.
      this.socket.cork();
      for (const part of message.parts) this.writeCounted(part);
      this.writeCounted('\n');
      this.socket.uncork();
    } else {
      this.writeCounted(encodeLine(message));
    }
    return true;
  }

  /** Node calls a write's callback exactly once: when the kernel took it, or with an error when the socket is destroyed. */
  private writeCounted(chunk: string | Buffer): void {
    const { account } = this.options;
    if (account === undefined) {
      this.socket.write(chunk);
      return;
    }
    const bytes = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    account.queued(bytes);
    this.socket.write(chunk, () => account.taken(bytes));
  }

  /** True when the socket's queue is below its high-water mark (a producer may go on). */
  get ready(): boolean {
    return !this.socket.writableNeedDrain;
  }

  /** Resolves when the queue drained (at once if it is not full) or the socket closed. */
  whenDrained(): Promise<void> {
    if (!this.socket.writableNeedDrain || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  get closedForOverflow(): boolean {
    return this.overflowed;
  }

  private overflow(): void {
    if (this.overflowed) return;
    this.overflowed = true;
    const queued = this.socket.writableLength;
    this.socket.destroy();
    this.options.onOverflow?.(queued);
  }
}
