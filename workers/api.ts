/**
 * The contract between the registry (src/daemon) and a VM worker (workers/).
 *
 * A worker is one detached Node process per active VM, started by the registry as
 *   node <dist>/workers/main.js <spec.json path>
 * It holds `<rundir>/<vm>.worker.lock` for its whole life (one worker per VM), listens on
 * `<rundir>/<vm>.sock`, where the registry (or a restarted one) reaches it with Comlink (src/rpc),
 * and writes `<rundir>/<vm>.worker.json` (WorkerRecord) so that a new registry can find it. It
 * removes them when it exits. Files in the run directory are parsed by workers/records.ts only.
 */
import type { VmConfig } from '../src/config/types.js';
import type { BhyveExit, VmEvent, VmStatus } from '../src/protocol/types.js';

/** Everything a worker needs to run one VM; the registry writes it as JSON for the worker. */
export interface WorkerSpec {
  vm: VmConfig;
  rundir: string;
  logdir: string;
  bhyve: string;
  bhyvectl: string;
  verbose: boolean;
  /** Set when the registry hands over a bhyve run whose worker died: take it over, do not launch. */
  adopt?: BhyveRun;
  /** Restart history (epoch ms of automatic restarts) carried over from a previous worker. */
  restartHistory?: number[];
}

/**
 * One run of bhyve under its keeper (workers/keeper.ts), as the worker records it: what another
 * worker needs to take it over, and to check that the processes it names are still those.
 */
export interface BhyveRun {
  bhyvePid: number;
  /** ps `lstart` of bhyve; null until ps answered, just after the launch. */
  bhyveStartedAt: string | null;
  /** null for a bhyve that has no keeper we know of: it is watched by its pid alone. */
  keeperPid: number | null;
  keeperStartedAt: string | null;
  argv: string[];
  /** Bytes of `<vm>.bhyve.out` and `<vm>.bhyve.err` already copied into the VM log. */
  output: { stdout: number; stderr: number };
}

/** What a worker leaves in `<rundir>/<vm>.worker.json` while it lives. */
export interface WorkerRecord {
  vm: string;
  workerPid: number;
  /** The run's bhyve pid (as in `run`), kept for readers of the record that know nothing else. */
  bhyvePid: number | null;
  /** The bhyve run it supervises, from just before bhyve is started until its exit is handled. */
  run: BhyveRun | null;
  socket: string;
  startedAt: string;
  /** Epoch ms of the automatic restarts in the window, as of the last bhyve launch. */
  restartHistory?: number[];
}

/**
 * `status()` returns a VmStatus with one more field, `logProblem: string | null`: why the VM log
 * cannot be written right now (disk full, directory gone), or null. See workers/lifecycle.ts.
 */

/** The outcome of a command, once the VM has settled. */
export interface CommandOutcome {
  ok: boolean;
  status: VmStatus;
  /** Why it failed, in words for a person. */
  error?: string;
  /** A start (or restart) whose bhyve exited within the settle time: bhyve's last stderr lines. */
  bhyveStderr?: string[];
  /** A stop or restart whose guest did not power off in time: how it was forced, in words. */
  forced?: string;
  /**
   * A stop or restart whose `bhyvectl --destroy` failed, in words: "bhyvectl --destroy failed:
   * exited 1: ... (the VM's memory may stay reserved)". The VM still stopped (or restarted).
   */
  destroyFailed?: string;
}

/** The object a worker exposes with Comlink. Every method is async on the caller's side. */
export interface WorkerApi {
  status(): VmStatus;
  /** Resolves when the VM is running (ok) or has failed. */
  start(): Promise<CommandOutcome>;
  /** Resolves when the VM is stopped. `reason` is 'stop' or 'shutdown'. */
  stop(reason?: 'stop' | 'shutdown'): Promise<CommandOutcome>;
  restart(): Promise<CommandOutcome>;
  failreset(): Promise<CommandOutcome>;
  /** A new config from a reload: applies at once when stopped, at the next start otherwise. */
  updateConfig(vm: VmConfig): void;
  /** Reopen the VM log (log rotation; the registry forwards SIGHUP). */
  reopenLog(): void;
  /**
   * Events since `afterSeq`, waiting up to `waitMs` for at least one (a long poll: Comlink cannot
   * pass callbacks over a socket). Returns the events and the sequence number to ask from next.
   */
  events(afterSeq: number, waitMs: number): Promise<{ seq: number; events: VmEvent[] }>;
  /** Exit the worker once the VM is stopped or failed; refuses (false) while bhyve runs. */
  release(): boolean;
  /**
   * Epoch ms of the automatic restarts still inside the restart window: pass it as
   * `WorkerSpec.restartHistory` when a worker is replaced (e.g. before an upgrade).
   */
  restartHistory(): number[];
}

export type { BhyveExit };
