/**
 * The VM log `<logdir>/<name>.log`: appended, never truncated, one timestamped line per line of
 * output or per event. Writes are synchronous so a worker that exits loses nothing. A write error
 * (disk full, directory removed) is reported once and the lines are kept in memory and retried;
 * the log never stops the VM.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { TransitionReason, VmState } from '../src/protocol/types.js';
import { BoundedOutput } from './bounded-output.js';
import type { OutputSink } from './bounded-output.js';

/** Lines (and characters) kept in memory while the log cannot be written; beyond either the oldest are dropped (and counted). */
const MAX_PENDING_LINES = 10_000;
const MAX_PENDING_CHARS = 4 * 1024 * 1024;
const RETRY_MS = 5_000;

/** One VM log line: `<ISO time> <source>: <text>`. */
function formatLogLine(source: string, text: string): string {
  return `${new Date().toISOString()} ${source}: ${text}\n`;
}

/** The words of a state change in the VM log. */
export function transitionText(previous: VmState, state: VmState, reason: TransitionReason, details = ''): string {
  return `state ${previous} -> ${state} (reason ${reason})${details}`;
}

/**
 * Appends one line to a VM log that no worker holds open (the registry, for a VM at rest).
 * Throws when it cannot be written: the caller reports it.
 */
export function appendVmLogLine(file: string, source: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, formatLogLine(source, text), { mode: 0o640 });
}

export class VmLog {
  private fd: number | null = null;
  private pending: Array<string | Buffer> = [];
  private pendingChars = 0;
  private dropped = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  /** The current write problem, in words; null when the log is healthy. */
  problem: string | null = null;

  constructor(
    readonly file: string,
    /** Called once per run of failures, when writing starts failing. */
    private readonly onProblem: (message: string | null) => void = () => {},
  ) {
    this.open();
  }

  /** One line from `source` (e.g. `bhyve[1234]/stdout`, `hook start_network/stderr`, `vmstated`). */
  line(source: string, text: string): void {
    const formatted = formatLogLine(source, text);
    this.pending.push(formatted);
    this.pendingChars += formatted.length;
    while (this.pending.length > MAX_PENDING_LINES || this.pendingChars > MAX_PENDING_CHARS) {
      this.pendingChars -= (this.pending.shift() as string | Buffer).length;
      this.dropped++;
    }
    this.flush();
  }

  /**
   * Where output of `source` goes, as Buffer chunks: lines cut at 8 KiB, floods summarized
   * (bounded-output.ts). Anything that copies bhyve's, a hook's or the console's output into the
   * log writes it here (or through follow()).
   */
  output(source: string): OutputSink {
    return new BoundedOutput(source, (from, text) => this.line(from, text));
  }

  /** Copies a stream into the log through output() (a last line without newline is kept too). */
  follow(stream: Readable, source: string): void {
    const sink = this.output(source);
    stream.on('data', (chunk: Buffer | string) => sink.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    stream.on('end', () => sink.end());
    stream.on('close', () => sink.end());
    stream.on('error', () => {});
  }

  reopen(): void {
    this.closeFd();
    this.open();
    this.flush();
  }

  close(): void {
    this.flush();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.closeFd();
  }

  private open(): void {
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      this.fd = fs.openSync(this.file, 'a', 0o640);
    } catch (error) {
      this.fd = null;
      this.fail(error);
    }
  }

  private flush(): void {
    if (this.fd === null) return this.scheduleRetry();
    if (this.dropped > 0) {
      const lost = formatLogLine('vmstated', `${this.dropped} log lines were lost while the log could not be written`);
      this.pending.unshift(lost);
      this.pendingChars += lost.length;
      this.dropped = 0;
    }
    try {
      while (this.pending.length > 0) {
        // A nearly full disk takes part of a line (a short write, no error): the rest waits.
        const first = this.pending[0] as string | Buffer;
        const bytes = Buffer.from(first);
        const written = fs.writeSync(this.fd, bytes);
        if (written < bytes.length) {
          this.pending[0] = bytes.subarray(written);
          this.pendingChars -= first.length - (bytes.length - written);
          throw new Error('short write: no space left on device (ENOSPC)');
        }
        this.pendingChars -= first.length;
        this.pending.shift();
      }
      if (this.problem !== null) {
        this.problem = null;
        this.onProblem(null);
      }
    } catch (error) {
      this.fail(error);
    }
  }

  private fail(error: unknown): void {
    const message = `cannot write the VM log ${this.file}: ${(error as Error).message}`;
    if (this.problem === null) {
      this.problem = message;
      process.stderr.write(`vmstated worker: ${message}; will retry every ${RETRY_MS / 1000} s\n`);
      this.onProblem(message);
    }
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.reopen();
    }, RETRY_MS);
    this.retryTimer.unref();
  }

  private closeFd(): void {
    if (this.fd === null) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // already gone: nothing to release
    }
    this.fd = null;
  }
}
