/**
 * The guest console (stdout) and bhyve's diagnostics (stderr), one whole line per write.
 *
 * Writes are asynchronous, as bhyve's console is non-blocking: a reader that stops reading
 * never stops the simulated bhyve from answering SIGTERM or bhyvectl. Before exiting, the
 * simulator gives pending output a bounded time to drain (real bhyve drops what does not fit).
 */

const DRAIN_LIMIT_MS = 3000;

// A reader that went away must not crash the simulated bhyve (EPIPE); output is then lost.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

export function consoleLine(text: string): void {
  process.stdout.write(`${text}\n`);
}

/**
 * Writes `count` bytes of console output that never prints a newline (a guest stuck printing
 * dots, a binary dump): a chunk at a time, the next once the reader took the last, so the
 * simulator itself stays small however much it writes.
 */
export function consoleBytes(count: number): void {
  const chunk = Buffer.alloc(64 * 1024, 'flood-without-newline ');
  let left = count;
  const next = (): void => {
    while (left > 0) {
      const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= piece.length;
      if (!process.stdout.write(piece)) {
        process.stdout.once('drain', next);
        return;
      }
    }
  };
  next();
}

export function diagnostic(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** Calls `then` once stdout and stderr are flushed, or after a bounded wait. */
export function afterOutputDrains(then: () => void): void {
  let waiting = 2;
  let called = false;
  const done = (): void => {
    waiting--;
    if (waiting > 0 || called) return;
    called = true;
    clearTimeout(timer);
    then();
  };
  const timer = setTimeout(() => {
    waiting = 0;
    done();
  }, DRAIN_LIMIT_MS);
  process.stdout.write('', done);
  process.stderr.write('', done);
}

/** Exits with `code` once output is flushed (or after the bounded wait). */
export function exitAfterOutput(code: number): void {
  afterOutputDrains(() => process.exit(code));
}
