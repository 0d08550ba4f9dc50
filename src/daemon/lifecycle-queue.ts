/**
 * The line of one VM's lifecycle operations (spawn, start, stop, release), run one after another
 * so that two starts never spawn two workers and a stop sent during a start waits for it.
 *
 * Clients' commands wait in it only a few at a time, and can be ended before they run (a stop
 * supersedes them; so does the shutdown). The registry's own operations (giving back the worker
 * of a VM that came to rest, recovering a lost worker) are never refused nor ended: each answers
 * one event of a worker, not a request, and what they do must happen.
 */
import { LimitError } from './connection-limits.js';

/**
 * Four covers what a person or a script means to queue (a restart, a stop, a start behind the
 * command that runs) with room for a second user. Each waiting command may take a whole stop
 * escalation plus its hooks to run, so the bound is also what keeps a caller from waiting behind
 * a queue it cannot see the end of, and what a flooding client can make the daemon hold.
 * vmstated(8), Limits, states it.
 */
export const MAX_WAITING_COMMANDS = 4;

interface Queued {
  operation: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
  /** A client's command (counted, may be ended); false for the registry's own operations. */
  isCommand: boolean;
  /** A client's stop: another stop does not end it, but shares its outcome (both would do the same). */
  isStop: boolean;
  /** What its callers wait for: a stop that comes while this one waits is given the same. */
  outcome?: Promise<unknown>;
}

export class LifecycleQueue {
  private queued: Queued[] = [];
  private commandsWaiting = 0;
  private busy = false;

  constructor(
    /** The VM, as the refusal names it. */
    private readonly vm: string,
    readonly maxWaiting = MAX_WAITING_COMMANDS,
  ) {}

  /** Client commands queued behind the operation that runs (not counting it). */
  get waiting(): number {
    return this.commandsWaiting;
  }

  /**
   * Queues a client's command; throws LimitError (at once) when maxWaiting already wait. A stop
   * that comes while another stop waits is not queued again: it shares that one's outcome, so a
   * stop (root's included) is never refused for stops others queued.
   */
  command<T>(operation: () => Promise<T>, { isStop = false } = {}): Promise<T> {
    const waitingStop = isStop ? this.queued.find((queued) => queued.isStop) : undefined;
    if (waitingStop?.outcome !== undefined) return waitingStop.outcome as Promise<T>;
    if (this.commandsWaiting >= this.maxWaiting) {
      throw new LimitError(`VM "${this.vm}" already has ${this.maxWaiting} commands waiting, the limit per VM; try again when they have run`);
    }
    return this.add(operation, true, isStop);
  }

  /** Queues an operation of the registry's own: never refused, never ended before it runs. */
  internal<T>(operation: () => Promise<T>): Promise<T> {
    return this.add(operation, false, false);
  }

  /**
   * Ends the client commands still waiting (not the one that runs) with `error`, or, with
   * `spareStops`, all but the stops; returns how many it ended.
   */
  endWaitingCommands(error: Error, { spareStops = false } = {}): number {
    const ends = (queued: Queued): boolean => queued.isCommand && !(spareStops && queued.isStop);
    const ended = this.queued.filter(ends);
    if (ended.length === 0) return 0;
    this.queued = this.queued.filter((queued) => !ends(queued));
    this.commandsWaiting -= ended.length;
    for (const queued of ended) queued.reject(error);
    return ended.length;
  }

  private add<T>(operation: () => Promise<T>, isCommand: boolean, isStop: boolean): Promise<T> {
    let queued: Queued | undefined;
    const outcome = new Promise<T>((resolve, reject) => {
      queued = { operation, resolve: resolve as (value: unknown) => void, reject, isCommand, isStop };
    });
    queued!.outcome = outcome;
    this.queued.push(queued!);
    if (isCommand) this.commandsWaiting += 1;
    this.runNext();
    return outcome;
  }

  private runNext(): void {
    if (this.busy) return;
    const next = this.queued.shift();
    if (next === undefined) return;
    this.busy = true;
    if (next.isCommand) this.commandsWaiting -= 1;
    // In a microtask: the caller that queued it finishes its synchronous part first.
    void Promise.resolve()
      .then(next.operation)
      .then(next.resolve, next.reject)
      .finally(() => {
        this.busy = false;
        this.runNext();
      });
  }
}
