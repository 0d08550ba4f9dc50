/** `logs`: the last N lines of a VM log, and following it as it grows (rotation included). */
import fs from 'node:fs';

/** Read at most this much from the end of a log for a tail. */
export const TAIL_WINDOW_BYTES = 1024 * 1024;
const FOLLOW_POLL_MS = 200;

/** The last `count` lines of `file` (none when it does not exist yet), and the size read up to. */
export async function tailLines(file: string, count: number): Promise<{ lines: string[]; offset: number }> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], offset: 0 };
    throw err;
  }
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - TAIL_WINDOW_BYTES);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    const lines = buffer.toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    if (start > 0) lines.shift(); // a partial first line
    return { lines: count === 0 ? [] : lines.slice(-count), offset: size };
  } finally {
    await handle.close();
  }
}

/**
 * Calls onLines with every complete line appended to `file` after `offset`; a file that shrank or
 * was replaced (newsyslog) is read again from its start. Returns a function that stops following.
 * While `mayRead()` is false (the client has not taken what was sent), nothing is read: the
 * lines wait in the file, not in memory.
 */
export function followLines(file: string, offset: number, onLines: (lines: string[]) => void, mayRead: () => boolean = () => true): () => void {
  let position = offset;
  let identity: string | null = null;
  let partial = '';
  let busy = false;
  const poll = async (): Promise<void> => {
    if (busy || !mayRead()) return;
    busy = true;
    try {
      const stat = await fs.promises.stat(file).catch(() => null);
      if (stat === null) return;
      const id = `${stat.dev}:${stat.ino}`;
      if ((identity !== null && id !== identity) || stat.size < position) {
        position = 0;
        partial = '';
      }
      identity = id;
      if (stat.size <= position) return;
      const handle = await fs.promises.open(file, 'r');
      try {
        const buffer = Buffer.alloc(Math.min(stat.size - position, TAIL_WINDOW_BYTES));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        position += bytesRead;
        const text = partial + buffer.subarray(0, bytesRead).toString('utf8');
        const lines = text.split('\n');
        partial = lines.pop() ?? '';
        if (lines.length > 0) onLines(lines);
      } finally {
        await handle.close();
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void poll().catch(() => {}), FOLLOW_POLL_MS);
  return () => clearInterval(timer);
}
