/**
 * `logs` reads of one user run a few at a time; the others wait their turn holding no buffer.
 * Each read holds the tail window (1 MiB) several times over while it is decoded, split into
 * lines and encoded as JSON: 32 requests of each of 64 connections read at once held hundreds of
 * MB. What waits here is counted against the reply budget already (reply-budget.ts), so the
 * queue is bounded by it. Root's reads wait behind root's own only.
 */
export const LOG_READS_PER_USER = 2;

export class PerUserGate {
  private readonly running = new Map<number, number>();
  private readonly waiting = new Map<number, Array<() => void>>();

  constructor(private readonly perUser: number = LOG_READS_PER_USER) {}

  async run<T>(uid: number, task: () => Promise<T>): Promise<T> {
    await this.enter(uid);
    try {
      return await task();
    } finally {
      this.leave(uid);
    }
  }

  private enter(uid: number): Promise<void> {
    const running = this.running.get(uid) ?? 0;
    if (running < this.perUser) {
      this.running.set(uid, running + 1);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const queue = this.waiting.get(uid) ?? [];
      queue.push(resolve);
      this.waiting.set(uid, queue);
    });
  }

  /** Hands the slot to the next waiting task of the user, if any. */
  private leave(uid: number): void {
    const queue = this.waiting.get(uid);
    const next = queue?.shift();
    if (queue?.length === 0) this.waiting.delete(uid);
    if (next !== undefined) {
      next();
      return;
    }
    const running = (this.running.get(uid) ?? 1) - 1;
    if (running === 0) this.running.delete(uid);
    else this.running.set(uid, running);
  }
}
