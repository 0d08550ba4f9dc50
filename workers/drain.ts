/** Reading what a finished child wrote, without waiting on pipes that others may hold open. */
import type { Readable } from 'node:stream';

/** After a child exits, how long its output may still drain before we stop reading. */
export const OUTPUT_DRAIN_MS = 200;

/**
 * Let the pipes deliver what the child wrote before it exited, then let go of them: a background
 * process that inherited them may hold them open for ever, and must not hold up the VM.
 */
export async function drainThenRelease(streams: (Readable | null)[]): Promise<void> {
  const open = streams.filter((stream): stream is Readable => stream !== null && !stream.closed);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(open.map((stream) => new Promise((done) => stream.once('close', done)))),
    new Promise((done) => (timer = setTimeout(done, OUTPUT_DRAIN_MS))),
  ]);
  clearTimeout(timer);
  for (const stream of open) stream.destroy();
}
