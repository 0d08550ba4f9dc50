/**
 * The control protocol of vmstated.sock (DESIGN.md section 6) and the VM
 * states and status records shared by the daemon, the workers and the CLI.
 */

export const PROTOCOL_VERSION = 1;
/** A request or reply line may not exceed this many bytes (newline excluded). */
export const MAX_LINE_BYTES = 64 * 1024;

export const VM_STATES = [
  'stopped',
  'start_network',
  'start_storage',
  'running',
  'restarting',
  'restarted',
  'stopping',
  'stop_storage',
  'stop_network',
  'failed',
] as const;
export type VmState = (typeof VM_STATES)[number];

/** Why a transition happens; hooks see it as VMSTATED_REASON. */
export type TransitionReason = 'start' | 'stop' | 'reboot' | 'crash' | 'restart' | 'failure' | 'shutdown';

/** How bhyve last ended. */
export interface BhyveExit {
  code: number | null;
  signal: string | null;
  /** Human meaning, e.g. "reboot", "powered off", "halted", "triple fault", "error", "killed by SIGKILL". */
  meaning: string;
}

/** One VM as `status` reports it (and `vmstatedctl --json status` prints it). */
export interface VmStatus {
  name: string;
  state: VmState;
  /** bhyve's pid while it runs. */
  pid: number | null;
  /** The worker process's pid while one exists. */
  workerPid: number | null;
  /** Automatic restarts inside the current restart window. */
  restarts: number;
  lastExit: BhyveExit | null;
  failureReason: string | null;
  owner: string | null;
  group: string | null;
  description: string | null;
  os: string | null;
  osversion: string | null;
  autostart: boolean;
  /** ISO time of the last state change. */
  since: string;
  /** The config file this VM comes from. */
  configFile: string;
  /** True when the config changed while the VM ran: it applies at the next start. */
  configPending: boolean;
}

/** Pushed on the `events` stream and from workers to the registry. */
export type VmEvent =
  | {
      type: 'state';
      vm: string;
      state: VmState;
      previous: VmState;
      reason: TransitionReason;
      time: string;
      /** Set on failure: why. */
      failureReason?: string;
      /** Set while a guest is asked to power off: when the force comes (ISO time). */
      forceAt?: string;
    }
  | { type: 'exit'; vm: string; exit: BhyveExit; pid: number; time: string }
  | { type: 'launch'; vm: string; pid: number; time: string }
  | { type: 'hook'; vm: string; hook: VmState; exitCode: number | null; signal: string | null; durationMs: number; ok: boolean; time: string }
  | { type: 'config'; problems: number; time: string }
  /** The VM log became unwritable (`problem` says why) or writable again (`problem` null). */
  | { type: 'log'; vm: string; problem: string | null; time: string }
  | { type: 'vm-added' | 'vm-removed'; vm: string; time: string };

export type Command =
  | 'status'
  | 'start'
  | 'stop'
  | 'restart'
  | 'failreset'
  | 'reload'
  | 'top'
  | 'logs'
  | 'events'
  | 'shutdown'
  | 'problems'
  | 'metrics'
  | 'console'
  | 'console-input';

export interface Request {
  v: typeof PROTOCOL_VERSION;
  id: string | number;
  cmd: Command;
  args?: Record<string, unknown>;
}

export type ErrorCode =
  | 'BAD_REQUEST' // not JSON, not an object, missing fields, wrong version, line too long, bad UTF-8
  | 'UNKNOWN_COMMAND'
  | 'NOT_FOUND' // no such VM (or the caller may not see it)
  | 'FORBIDDEN' // the caller may see the VM but not do this
  | 'INVALID_STATE' // e.g. failreset on a VM that is not failed
  | 'FAILED' // the action was carried out and failed (the VM is now failed)
  | 'LIMIT' // over a limit of the control socket (connections, streams per user; idle) or of the commands waiting on a VM: the message says which and its value
  | 'INTERNAL';

export interface ReplyOk<T = unknown> {
  v: typeof PROTOCOL_VERSION;
  id: string | number | null;
  ok: true;
  result: T;
}
export interface ReplyError {
  v: typeof PROTOCOL_VERSION;
  id: string | number | null;
  ok: false;
  /** bhyveStderr: a start or restart that failed because bhyve exited within the settle time: its last stderr lines. */
  error: { code: ErrorCode; message: string; bhyveStderr?: string[] };
}
export type Reply<T = unknown> = ReplyOk<T> | ReplyError;

export interface EventLine {
  v: typeof PROTOCOL_VERSION;
  event: VmEvent;
}

/**
 * A partial result of a streaming request (e.g. `logs` with `follow`): same id
 * as the request, `data` instead of `ok`. The stream ends with the request's
 * ordinary reply (ok or error). Clients pass `data` to the caller as it comes.
 */
export interface ReplyData<T = unknown> {
  v: typeof PROTOCOL_VERSION;
  id: string | number;
  data: T;
}
