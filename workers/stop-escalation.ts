/**
 * Stopping bhyve: SIGTERM (the ACPI power button), wait `stoptimeout`, `bhyvectl --force-poweroff`,
 * wait 5 s, SIGKILL. Each step is a line in the VM log.
 */
import type { BhyveExit } from '../src/protocol/types.js';
import type { BhyveProcess } from './bhyve-process.js';
import { forcePoweroff } from './bhyvectl.js';
import type { VmLog } from './vm-log.js';

export const FORCE_POWEROFF_WAIT_MS = 5_000;
/** After SIGKILL: a process stuck in the kernel may take a while; past this we report it. */
const SIGKILL_WAIT_MS = 10_000;

export interface StopPlan {
  name: string;
  bhyvectl: string;
  stoptimeoutMs: number;
  log: VmLog;
}

export interface StopResult {
  /** bhyve's exit, or null when it survived even SIGKILL (then it is reported). */
  exit: BhyveExit | null;
  /** How the guest was made to stop when it did not power off by itself, in words; else null. */
  forced: string | null;
}

/** SIGTERM, then the forced power-off after stoptimeout, then SIGKILL; says which one ended bhyve. */
export async function stopBhyve(bhyve: BhyveProcess, plan: StopPlan): Promise<StopResult> {
  if (!bhyve.isAlive()) return { exit: await bhyve.exited, forced: null };
  const { log } = plan;
  log.line('vmstated', `sending SIGTERM (ACPI power button) to bhyve pid ${bhyve.pid}; force at ${new Date(Date.now() + plan.stoptimeoutMs).toISOString()}`);
  bhyve.signal('SIGTERM');
  let exit = await within(bhyve.exited, plan.stoptimeoutMs);
  if (exit) return { exit, forced: null };

  const forced = `forced power-off after ${plan.stoptimeoutMs / 1000} s (stoptimeout)`;
  log.line('vmstated', `guest did not power off within ${plan.stoptimeoutMs / 1000} s: forcing a power-off`);
  await forcePoweroff(plan.bhyvectl, plan.name, log);
  exit = await within(bhyve.exited, FORCE_POWEROFF_WAIT_MS);
  if (exit) return { exit, forced };

  log.line('vmstated', `bhyve pid ${bhyve.pid} still running ${FORCE_POWEROFF_WAIT_MS / 1000} s after the forced power-off: sending SIGKILL`);
  bhyve.signal('SIGKILL');
  const killed = `${forced}, then SIGKILL ${FORCE_POWEROFF_WAIT_MS / 1000} s later`;
  exit = await within(bhyve.exited, SIGKILL_WAIT_MS);
  if (exit) return { exit, forced: killed };
  log.line('vmstated', `bhyve pid ${bhyve.pid} survived SIGKILL for ${SIGKILL_WAIT_MS / 1000} s`);
  return { exit: null, forced: killed };
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms))),
  ]);
}
