/**
 * Whole-line, synchronous writes to stdout/stderr, so nothing is lost when the simulator exits
 * right after writing (process.stdout is asynchronous for pipes on FreeBSD).
 */
import fs from 'node:fs';

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Writes text to fd; waits out EAGAIN (a non-blocking pipe that is full); a closed reader is ignored. */
export function writeAll(fd: number, text: string): void {
  let buffer = Buffer.from(text);
  while (buffer.length > 0) {
    try {
      const written = fs.writeSync(fd, buffer);
      buffer = buffer.subarray(written);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 2);
        continue;
      }
      if (code === 'EPIPE' || code === 'EBADF') return;
      throw error;
    }
  }
}

export function consoleLine(text: string): void {
  writeAll(1, `${text}\n`);
}

export function diagnostic(text: string): void {
  writeAll(2, `${text}\n`);
}
