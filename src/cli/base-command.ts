/**
 * What every vmstatedctl command shares: the -s/--socket and --json flags, the connection to
 * vmstated (imported lazily, so `--help` stays cheap), and the mapping of failures to exit codes.
 */
import type { Command as ProtocolCommand, VmEvent } from '../protocol/types.js';
import { EXIT, EXIT_STATUS_HELP, type ExitCode } from './exit-codes.js';
import { Args, CLIError, Command, Flags } from './oclif.js';
import { DEFAULTS } from '../daemon/options.js';

/** The daemon's own default (vmstated -s), so the two never drift apart. */
const DEFAULT_SOCKET = DEFAULTS.sockpath;
/** How long connecting to the socket may take before vmstated counts as unreachable. */
export const CONNECT_TIMEOUT_MS = 5_000;
/** How long a quick request (status, reload, ...) may wait for its reply. */
export const QUICK_REQUEST_TIMEOUT_MS = 30_000;

/** The part of ControlClient (src/protocol/client.ts) the CLI uses. */
export interface DaemonConnection {
  request<T>(
    cmd: ProtocolCommand,
    args?: Record<string, unknown>,
    options?: { timeoutMs?: number; onData?(data: unknown): void },
  ): Promise<T>;
  events(onEvent: (event: VmEvent) => void, args?: Record<string, unknown>, onSubscribed?: () => void): Promise<void>;
  close(): void;
}

/** A failure already worded for the user; the entry point prints `vmstatedctl: <message>`. */
export function failure(message: string, exit: ExitCode): CLIError {
  return new CLIError(message, { exit });
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The daemon's refusal in the words a person needs: vmstated prefixes its messages with the
 * request (`request 3 (start): `) and lifecycle failures with the VM (`VM "web": `), which
 * vmstatedctl already shows its own way (`vmstatedctl: web: ...`).
 */
export function daemonMessage(error: Error, vm?: string): string {
  let message = error.message.replace(/^request(?: \S+)?(?: \([a-z]+\))?: /, '');
  if (vm !== undefined) {
    const prefix = `VM ${JSON.stringify(vm)}: `;
    if (message.startsWith(prefix)) message = message.slice(prefix.length);
  }
  return message;
}

/** True for the client's ControlError: the daemon answered with `ok: false`. */
export function isControlError(error: unknown): error is Error & { code: string } {
  return error instanceof Error && error.name === 'ControlError' && typeof (error as { code?: unknown }).code === 'string';
}

/** True when the daemon could not be reached, went silent, or the connection broke. */
export function isUnreachable(error: unknown): boolean {
  return (
    error instanceof Error &&
    ['DaemonUnreachableError', 'ConnectionLostError', 'RequestTimeoutError'].includes(error.name)
  );
}

/** A command's DESCRIPTION: its paragraphs (oclif wraps them), then the exit statuses. */
/**
 * The VM name argument of a command. Never taken from stdin: oclif fills a missing argument from a
 * stdin that is not a terminal, so `vmstatedctl status` in a `while read` loop or under cron would
 * swallow the script's input and act on it (and always wait 10 ms for it).
 */
export function vmArg(description: string) {
  return Args.string({ description, required: true, ignoreStdin: true });
}

/** vmArg, for a command that may also be given no VM. */
export function optionalVmArg(description: string) {
  return Args.string({ description, required: false, ignoreStdin: true });
}

export function describe(...paragraphs: string[]): string {
  return [...paragraphs, EXIT_STATUS_HELP].join('\n\n');
}

export abstract class ControlCommand extends Command {
  static override baseFlags = {
    socket: Flags.string({
      char: 's',
      summary: 'Path of the vmstated control socket.',
      env: 'VMSTATED_SOCKET',
      default: DEFAULT_SOCKET,
      helpValue: '<sockpath>',
      helpGroup: 'GLOBAL',
    }),
    json: Flags.boolean({
      summary: 'Print machine-readable JSON instead of text.',
      default: false,
      helpGroup: 'GLOBAL',
    }),
  };

  private readonly connections: DaemonConnection[] = [];

  /** Opens a connection to vmstated; exits 3 when it cannot be reached. */
  protected async connect(socketPath: string): Promise<DaemonConnection> {
    const { ControlClient } = await import('../protocol/client.js');
    try {
      const connection: DaemonConnection = await ControlClient.connect(socketPath, { timeoutMs: CONNECT_TIMEOUT_MS });
      this.connections.push(connection);
      return connection;
    } catch (error) {
      const message = isUnreachable(error) ? errorMessage(error) : `cannot reach vmstated at ${socketPath}: ${errorMessage(error)}`;
      throw failure(message, EXIT.UNREACHABLE);
    }
  }

  /** A request that must answer soon; a silent daemon counts as unreachable (exit 3). */
  protected async quickRequest<T>(
    connection: DaemonConnection,
    cmd: ProtocolCommand,
    args: Record<string, unknown> = {},
  ): Promise<T> {
    return connection.request<T>(cmd, args, { timeoutMs: QUICK_REQUEST_TIMEOUT_MS });
  }

  /** Sends a request about one VM, naming the VM in the daemon's refusal (no such VM, not yours). */
  protected async vmRequest<T>(vm: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      if (isControlError(error)) throw failure(`${vm}: ${daemonMessage(error, vm)}`, EXIT.FAILED);
      throw error;
    }
  }

  /** Prints `vmstatedctl: <vm>: <message>` on stderr. */
  protected reportVmError(vm: string, message: string): void {
    process.stderr.write(`vmstatedctl: ${vm}: ${message}\n`);
  }

  protected printJson(value: unknown): void {
    process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }

  /** Turns protocol and connection failures into worded errors with the right exit code. */
  protected override async catch(error: Error & { exitCode?: number }): Promise<unknown> {
    if (isUnreachable(error)) throw failure(error.message, EXIT.UNREACHABLE);
    if (isControlError(error)) throw failure(daemonMessage(error), EXIT.FAILED);
    if (error.name === 'ProtocolError') throw failure(error.message, EXIT.FAILED);
    return super.catch(error);
  }

  protected override async finally(error: Error | undefined): Promise<unknown> {
    for (const connection of this.connections.splice(0)) connection.close();
    return super.finally(error);
  }
}
