/**
 * Fairness between users on the control socket: at most `perTurn` requests of one user other than
 * root start in one turn of the event loop; the rest wait for the next turn. Between two turns
 * Node reads every other socket, so a user who floods requests (even reading every reply, as
 * fast as the daemon answers) is served in slices between everyone else's requests instead of
 * ahead of them, and root's requests never wait for a slice.
 */
export class RequestPacer {
  private readonly started = new Map<number, number>();
  private readonly waiting = new Set<() => void>();
  private turnEndScheduled = false;

  constructor(private readonly perTurn: number) {}

  /**
   * True when a request of `uid` may start now. Otherwise false, and `resume` is called once in
   * the next turn (the same function given again in this turn is called only once).
   */
  mayStart(uid: number, resume: () => void): boolean {
    if (uid === 0) return true;
    this.scheduleTurnEnd();
    const started = this.started.get(uid) ?? 0;
    if (started < this.perTurn) {
      this.started.set(uid, started + 1);
      return true;
    }
    this.waiting.add(resume);
    return false;
  }

  private scheduleTurnEnd(): void {
    if (this.turnEndScheduled) return;
    this.turnEndScheduled = true;
    // setImmediate runs after the poll phase: every readable socket has been read in between.
    setImmediate(() => {
      this.turnEndScheduled = false;
      this.started.clear();
      const resumes = [...this.waiting];
      this.waiting.clear();
      for (const resume of resumes) resume();
    });
  }
}
