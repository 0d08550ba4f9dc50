/**
 * The restart window: automatic restarts (reboot, crash) within the last `maxrestarttime`
 * seconds. The (maxrestart+1)-th restart inside the window is refused (the VM fails instead).
 */
export class RestartWindow {
  private history: number[];

  constructor(
    private maxRestarts: number,
    private windowSeconds: number,
    history: number[] = [],
  ) {
    this.history = [...history];
  }

  configure(maxRestarts: number, windowSeconds: number): void {
    this.maxRestarts = maxRestarts;
    this.windowSeconds = windowSeconds;
  }

  /** Restarts counted inside the window now. */
  count(now = Date.now()): number {
    this.forgetOld(now);
    return this.history.length;
  }

  /** Record a restart if it is allowed; false means the window is exceeded. */
  tryRecord(now = Date.now()): boolean {
    this.forgetOld(now);
    if (this.history.length >= this.maxRestarts) return false;
    this.history.push(now);
    return true;
  }

  clear(): void {
    this.history = [];
  }

  /** Epoch ms of the restarts still in the window (handed to a next worker). */
  snapshot(now = Date.now()): number[] {
    this.forgetOld(now);
    return [...this.history];
  }

  describe(): string {
    return `${this.maxRestarts} restarts within ${this.windowSeconds} s`;
  }

  private forgetOld(now: number): void {
    const oldest = now - this.windowSeconds * 1000;
    this.history = this.history.filter((time) => time > oldest);
  }
}
