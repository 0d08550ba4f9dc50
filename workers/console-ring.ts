/**
 * The last bytes a guest printed on its console (64 KiB by default), so that a viewer who attaches
 * sees the login prompt printed before. In memory only: a new worker starts with an empty ring.
 */

const NEWLINE = 0x0a;
export const CONSOLE_RING_BYTES = 64 * 1024;

export class ByteRing {
  private readonly buffer: Buffer;
  /** Bytes held, at most the capacity; the newest end at `end`. */
  private held = 0;
  private end = 0;
  /** True once older bytes were overwritten: the oldest line held may be cut. */
  private wrapped = false;

  constructor(readonly capacity = CONSOLE_RING_BYTES) {
    this.buffer = Buffer.alloc(capacity);
  }

  push(chunk: Buffer): void {
    if (chunk.length >= this.capacity) {
      chunk.copy(this.buffer, 0, chunk.length - this.capacity);
      this.end = 0;
      this.wrapped = this.wrapped || this.held > 0 || chunk.length > this.capacity;
      this.held = this.capacity;
      return;
    }
    const first = Math.min(chunk.length, this.capacity - this.end);
    chunk.copy(this.buffer, this.end, 0, first);
    chunk.copy(this.buffer, 0, first);
    this.end = (this.end + chunk.length) % this.capacity;
    if (this.held + chunk.length > this.capacity) this.wrapped = true;
    this.held = Math.min(this.capacity, this.held + chunk.length);
  }

  /** Everything held, oldest first; when older bytes were lost, from the first whole line. */
  contents(): Buffer {
    const start = (this.end - this.held + this.capacity) % this.capacity;
    const bytes = start + this.held <= this.capacity
      ? Buffer.from(this.buffer.subarray(start, start + this.held))
      : Buffer.concat([this.buffer.subarray(start), this.buffer.subarray(0, this.end)]);
    if (!this.wrapped) return bytes;
    const newline = bytes.indexOf(NEWLINE);
    return newline < 0 ? bytes : bytes.subarray(newline + 1);
  }

  /** The last `lines` lines held, as tail(1) counts them (an unfinished last line counts); all with undefined. */
  tail(lines?: number): Buffer {
    const bytes = this.contents();
    if (lines === undefined) return bytes;
    if (lines <= 0) return Buffer.alloc(0);
    let cut = bytes.length;
    if (bytes[cut - 1] === NEWLINE) cut--;
    for (let found = 0; found < lines; found++) {
      if (cut <= 0) return bytes; // (a negative offset would search from the end)
      cut = bytes.lastIndexOf(NEWLINE, cut - 1);
      if (cut < 0) return bytes;
    }
    return bytes.subarray(cut + 1);
  }
}
