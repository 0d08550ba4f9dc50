/**
 * One connected VM worker, seen from the registry: its Comlink link, a long-poll loop that
 * consumes its events, and the latest status it reported.
 */
import type { VmEvent, VmStatus } from '../protocol/types.js';
import type { Logger } from './logger.js';
import { isProcessAlive } from '../shared/process.js';
import { withTimeout } from './timeout.js';
import type { WorkerLink } from './worker-link.js';

/** How long one `events()` long poll may wait on the worker. */
const EVENT_POLL_MS = 15_000;
/** Quick calls (status, the first events poll) must answer within this long. */
const QUICK_CALL_MS = 5000;
/** A worker that accepted release() must be gone within this long. */
const EXIT_WAIT_MS = 10_000;
/**
 * An events poll not answered this long after it started (15 s after it should have returned,
 * however loaded the host): the worker hangs.
 */
export const SILENT_AFTER_MS = EVENT_POLL_MS + 15_000;

export interface WorkerListener {
  onEvents(handle: WorkerHandle, events: VmEvent[]): void;
  onStatus(handle: WorkerHandle, status: VmStatus): void;
  /** The connection ended without release() or detach(): the worker died or hung up. */
  onLost(handle: WorkerHandle): void;
  /** The worker has not answered an events poll for SILENT_AFTER_MS: it hangs (its next status clears it). */
  onSilent(handle: WorkerHandle): void;
}

export class WorkerHandle {
  private seq = 0;
  /** True once the registry let it go on purpose (release, detach): a closed link is then expected. */
  private letGo = false;

  constructor(
    readonly vm: string,
    readonly pid: number,
    readonly link: WorkerLink,
    private readonly listener: WorkerListener,
    private readonly log: Logger,
  ) {
    link.onClose(() => {
      if (!this.letGo) this.listener.onLost(this);
    });
  }

  get api(): WorkerLink['api'] {
    return this.link.api;
  }

  /**
   * Starts consuming events. A re-attached worker's past events were broadcast by the previous
   * registry, so `skipPast` starts from its current sequence number instead of replaying them.
   */
  async begin(skipPast: boolean): Promise<VmStatus> {
    if (skipPast) this.seq = (await withTimeout(this.api.events(0, 0), QUICK_CALL_MS, `worker of ${this.vm}: events`)).seq;
    const status = await this.refreshStatus();
    void this.pump();
    return status;
  }

  async refreshStatus(timeoutMs = QUICK_CALL_MS): Promise<VmStatus> {
    const status = await withTimeout(this.api.status(), timeoutMs, `worker of ${this.vm}: status`);
    this.listener.onStatus(this, status);
    return status;
  }

  /** Asks the worker to exit (it refuses while bhyve runs) and waits until it is gone. */
  async release(): Promise<boolean> {
    this.letGo = true;
    let accepted: boolean;
    try {
      accepted = await withTimeout(this.api.release(), QUICK_CALL_MS, `worker of ${this.vm}: release`);
    } catch {
      accepted = !isProcessAlive(this.pid);
    }
    if (!accepted) {
      this.letGo = false;
      return false;
    }
    // Its socket and record must be gone before a new worker for the same VM may bind them.
    await this.waitForExit();
    this.link.close();
    return true;
  }

  /** Lets the worker run on without us (shutdown --keep-vms): close the link only. */
  detach(): void {
    this.letGo = true;
    this.link.close();
  }

  private async waitForExit(): Promise<void> {
    const deadline = Date.now() + EXIT_WAIT_MS;
    // The worker's end of the link closes when it exits: wait for that instead of polling 200
    // releasing workers at once (SIGTERM); the poll below only confirms it (or covers a worker
    // that hung up before exiting).
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, EXIT_WAIT_MS);
      this.link.onClose(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    while (isProcessAlive(this.pid) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (isProcessAlive(this.pid)) this.log.warn({ vm: this.vm, workerPid: this.pid }, 'released worker did not exit in time');
  }

  private async pump(): Promise<void> {
    while (!this.link.isClosed()) {
      let batch: { seq: number; events: VmEvent[] };
      const silence = setTimeout(() => this.listener.onSilent(this), SILENT_AFTER_MS);
      try {
        batch = await this.api.events(this.seq, EVENT_POLL_MS);
      } catch (err) {
        if (this.link.isClosed()) return;
        this.log.warn({ vm: this.vm, err }, 'reading worker events failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      } finally {
        clearTimeout(silence);
      }
      this.seq = batch.seq;
      // An empty poll still refreshes the status: a change without an event (the VM log became
      // unwritable, or writable again) must reach `status` too.
      if (batch.events.length > 0) this.listener.onEvents(this, batch.events);
      try {
        await this.refreshStatus();
      } catch {
        // The link closed: onLost tells the registry.
      }
    }
  }
}
