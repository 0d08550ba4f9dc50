/** Runs jobs one at a time, in the order they were posted (a VM's commands and bhyve's exits). */
export class Mailbox {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  post<T>(job: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(job).finally(() => this.pending--);
    this.tail = result.catch(() => {});
    return result;
  }

  get busy(): boolean {
    return this.pending > 0;
  }

  /** Jobs running or waiting. */
  get size(): number {
    return this.pending;
  }
}
