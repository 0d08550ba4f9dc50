/**
 * start / stop / restart / failreset for several VMs at once: one request per VM, all in flight
 * together on one connection, each waiting for its outcome unless told not to.
 */
import type { VmEvent, VmState, VmStatus } from '../protocol/types.js';
import { colourState } from './colour.js';
import { daemonMessage, errorMessage, isControlError, isUnreachable, type DaemonConnection } from './base-command.js';

export type VmAction = 'start' | 'stop' | 'restart' | 'failreset';

export interface ActionOutcome {
  vm: string;
  ok: boolean;
  /** The VM's state when the reply came, when the reply said. */
  state: VmState | null;
  /** Why it failed, in words for a person. */
  error: string | null;
  /** A failed start: bhyve's last stderr lines (printed after the failure line). */
  bhyveStderr?: string[];
  /** A stop or restart whose guest did not power off in time: how it was forced (the reply's `forced`). */
  forced?: string;
  /** A stop or restart whose `bhyvectl --destroy` failed (the reply's `destroyFailed`). */
  destroyFailed?: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function statusOf(result: unknown): Partial<VmStatus> | null {
  if (!isObject(result)) return null;
  if (isObject(result.status)) return result.status as Partial<VmStatus>;
  return typeof result.state === 'string' ? (result as Partial<VmStatus>) : null;
}

/**
 * Reads a successful reply. It may be a command outcome `{ok, status, error}` or a bare VmStatus;
 * either way a VM that ended `failed` (other than by failreset) counts as a failure.
 */
export function interpretResult(vm: string, action: VmAction, result: unknown): ActionOutcome {
  const status = statusOf(result);
  const state = (status?.state as VmState | undefined) ?? null;
  const reportedOk = isObject(result) && typeof result.ok === 'boolean' ? result.ok : true;
  const reportedError = isObject(result) && typeof result.error === 'string' ? result.error : null;
  const endedFailed = state === 'failed' && action !== 'failreset';
  const forced = isObject(result) && typeof result.forced === 'string' ? { forced: result.forced } : {};
  const destroyFailed = isObject(result) && typeof result.destroyFailed === 'string' ? { destroyFailed: result.destroyFailed } : {};
  if (reportedOk && !endedFailed) return { vm, ok: true, state, error: null, ...forced, ...destroyFailed };
  const reason = reportedError ?? status?.failureReason ?? `${action} failed`;
  return { vm, ok: false, state, error: reason, ...forced, ...destroyFailed };
}

export function requestArgs(action: VmAction, vm: string, wait: boolean): Record<string, unknown> {
  return action === 'failreset' ? { vm } : { vm, wait };
}

/**
 * Sends the action for every VM and collects the outcomes, in the order of `vms`. A refused or
 * failed action is an outcome; losing the daemon is thrown (after every request settled).
 */
export async function runVmAction(
  connection: DaemonConnection,
  action: VmAction,
  vms: readonly string[],
  wait: boolean,
): Promise<ActionOutcome[]> {
  const settled = await Promise.allSettled(
    vms.map((vm) => connection.request<unknown>(action, requestArgs(action, vm, wait))),
  );
  const lost = settled.find((entry) => entry.status === 'rejected' && isUnreachable(entry.reason));
  if (lost?.status === 'rejected') throw lost.reason;
  return settled.map((entry, index) => {
    const vm = vms[index]!;
    if (entry.status === 'fulfilled') return interpretResult(vm, action, entry.value);
    const reason: unknown = entry.reason;
    if (isControlError(reason)) {
      const lines = (reason as { bhyveStderr?: string[] }).bhyveStderr;
      return { vm, ok: false, state: null, error: daemonMessage(reason, vm), ...(lines !== undefined && lines.length > 0 && { bhyveStderr: lines }) };
    }
    throw reason;
  });
}

/** The line printed on stdout for a VM whose action succeeded; `colour`: its state in colour (colour.ts). */
export function successLine(action: VmAction, outcome: ActionOutcome, waited: boolean, colour = false): string {
  if (!waited && action !== 'failreset') return `${outcome.vm}: ${action} requested`;
  const notes = [outcome.forced, outcome.destroyFailed].filter((note) => note !== undefined).map((note) => `; ${note}`).join('');
  const state = outcome.state === null ? 'done' : colourState(outcome.state, outcome.state, colour);
  return `${outcome.vm}: ${state}${notes}`;
}

/**
 * Subscribes to events on a second connection (filtered by the daemon when there is one VM).
 * Errors only cost the live display; a refusal (no such VM) is reported by the action itself.
 */
export function followEvents(connection: DaemonConnection, vms: readonly string[], onEvent: (event: VmEvent) => void): void {
  const args = vms.length === 1 ? { vm: vms[0] } : {};
  connection.events(onEvent, args).catch((error: unknown) => {
    if (!isControlError(error)) process.stderr.write(`vmstatedctl: no live progress: ${errorMessage(error)}\n`);
  });
}
