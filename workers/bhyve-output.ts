/**
 * Following one of bhyve's output files (`<rundir>/<vm>.bhyve.out` or `.bhyve.err`) into the VM log.
 *
 * bhyve writes to files, not to pipes of the worker: its output goes on while no worker lives, and
 * the worker that comes next resumes where the last one stopped (the offset is in the worker
 * record, saved at most once a second: nothing is lost, at most a second of output is logged
 * twice). Reads are synchronous, woken by fs.watch (inotify, kqueue): no thread of libuv's pool.
 *
 * A file read to its end and larger than TRUNCATE_AT is truncated (bhyve's descriptor is O_APPEND,
 * so its next write lands at the start). What bhyve writes between that last read and the
 * truncation, a matter of microseconds, is lost; the saved offset is 0 before the truncation, so a
 * worker that dies in between logs the old content again rather than skipping new output.
 */
import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { OutputSink } from './bounded-output.js';
import { LineTail } from './line-tail.js';
import type { VmLog } from './vm-log.js';

const CHUNK_BYTES = 64 * 1024;
/** Read at most this much per turn of the event loop, so a flood cannot starve the worker. */
const BYTES_PER_TURN = 1024 * 1024;
export const TRUNCATE_AT = 1024 * 1024;

export interface FollowOptions {
  /** Offset to start from (a file shorter than that was truncated meanwhile: from 0). */
  offset: number;
  /** Keep the last lines (stderr: what a failed start prints). */
  keepTail?: boolean;
  /** Bytes were consumed; `now` when the offset must be saved before going on (a truncation). */
  onProgress(now: boolean): void;
}

export class OutputFollower {
  private fd: number | null = null;
  private watcher: fs.FSWatcher | null = null;
  private readQueued = false;
  private offset: number;
  /** Where bhyve's bytes enter the VM log: cut into bounded lines, floods summarized (bounded-output.ts). */
  private readonly sink: OutputSink;
  private readonly tail: LineTail | null;
  private readonly tailDecoder = new StringDecoder('utf8');

  constructor(
    readonly file: string,
    source: string,
    private readonly log: VmLog,
    private readonly options: FollowOptions,
  ) {
    this.offset = options.offset;
    this.sink = log.output(source);
    this.tail = options.keepTail === true ? new LineTail() : null;
  }

  /** Bytes of the file consumed so far. */
  get consumed(): number {
    return this.offset;
  }

  /** The last lines seen (only with keepTail), each bounded (line-tail.ts). */
  lastLines(): string[] {
    return this.tail?.lines() ?? [];
  }

  /** Copies what is there, then what comes. A file that cannot be opened is reported in the log. */
  start(): void {
    try {
      this.fd = fs.openSync(this.file, fs.constants.O_RDWR | fs.constants.O_NOFOLLOW);
    } catch (error) {
      this.log.line('vmstated', `cannot read ${this.file}: ${(error as Error).message}`);
      return;
    }
    try {
      this.watcher = fs.watch(this.file, { persistent: false }, () => this.queueRead());
      this.watcher.on('error', () => this.queueRead());
    } catch {
      // No change notification here: the final read at finish() still copies everything.
    }
    this.queueRead();
  }

  /** Reads to the end, stops following and puts every line, the last one too, in the log. */
  finish(): void {
    while (this.readSome() === 'more');
    this.watcher?.close();
    this.watcher = null;
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    this.sink.end();
  }

  private queueRead(): void {
    if (this.readQueued || this.fd === null) return;
    this.readQueued = true;
    setImmediate(() => {
      this.readQueued = false;
      if (this.readSome() === 'more') this.queueRead();
    });
  }

  /** Reads up to BYTES_PER_TURN from the offset; 'more' when it stopped before the end. */
  private readSome(): 'more' | 'end' {
    if (this.fd === null) return 'end';
    let read = 0;
    try {
      if (fs.fstatSync(this.fd).size < this.offset) this.offset = 0; // truncated by someone else
      const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
      for (;;) {
        const count = fs.readSync(this.fd, buffer, 0, CHUNK_BYTES, this.offset);
        if (count === 0) break;
        const chunk = Buffer.from(buffer.subarray(0, count));
        this.sink.write(chunk);
        this.tail?.push(this.tailDecoder.write(chunk));
        this.offset += count;
        read += count;
        if (read >= BYTES_PER_TURN) {
          this.options.onProgress(false);
          return 'more';
        }
      }
      if (this.offset >= TRUNCATE_AT) this.truncate();
      else if (read > 0) this.options.onProgress(false);
    } catch (error) {
      this.log.line('vmstated', `stopped reading ${this.file}: ${(error as Error).message}`);
      this.watcher?.close();
      this.watcher = null;
    }
    return 'end';
  }

  private truncate(): void {
    this.offset = 0;
    this.options.onProgress(true);
    fs.ftruncateSync(this.fd as number, 0);
  }
}
