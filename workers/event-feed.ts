/** The worker's events, numbered, kept for a while, handed out by long poll (`events()`). */
import type { VmEvent } from '../src/protocol/types.js';

/**
 * The registry asks for the next events as soon as it has the last ones: only those of one round
 * trip wait here. Kept events are a resident worker's memory (~250 bytes each), for its life.
 */
const KEPT_EVENTS = 100;

export class EventFeed {
  private events: { seq: number; event: VmEvent }[] = [];
  private lastSeq = 0;
  private waiters = new Set<() => void>();

  push(event: VmEvent): void {
    this.events.push({ seq: ++this.lastSeq, event });
    if (this.events.length > KEPT_EVENTS) this.events.shift();
    for (const wake of [...this.waiters]) wake();
  }

  /** Events after `afterSeq`; waits up to `waitMs` when there are none yet. */
  async since(afterSeq: number, waitMs: number): Promise<{ seq: number; events: VmEvent[] }> {
    if (afterSeq > this.lastSeq) afterSeq = 0; // a new worker: its numbering starts over
    if (this.lastSeq === afterSeq && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, waitMs);
        this.waiters.add(wake);
      });
    }
    return { seq: this.lastSeq, events: this.events.filter((entry) => entry.seq > afterSeq).map((entry) => entry.event) };
  }
}
