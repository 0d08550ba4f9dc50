/**
 * Stopping bhyve: SIGTERM (the ACPI power button), wait `stoptimeout`, `bhyvectl --force-poweroff`
 * (at most BHYVECTL_TIMEOUT_MS; given up on once bhyve has exited), wait up to 5 s from its
 * return, SIGKILL. A power-off that failed or timed out is followed by SIGKILL at once. Each step
 * is a line in the VM log, and the result says in words which steps really happened.
 */
import type { BhyveExit } from '../src/protocol/types.js';
import type { BhyveProcess } from './bhyve-process.js';
import { BHYVECTL_TIMEOUT_MS, describeCall, failureDetail, forcePoweroff, type BhyvectlResult } from './bhyvectl.js';
import type { VmLog } from './vm-log.js';

export const FORCE_POWEROFF_WAIT_MS = 5_000;
/** After SIGKILL: a process stuck in the kernel may take a while; past this we report it. */
const SIGKILL_WAIT_MS = 10_000;
/** bhyve exited while bhyvectl --force-poweroff still runs: how long it may still finish by itself. */
const POWEROFF_AFTER_EXIT_GRACE_MS = 1_000;
/** The longest stopBhyve takes beyond stoptimeout (documented in vmstated(8), "Stopping a virtual machine"). */
export const STOP_ESCALATION_MAX_MS = BHYVECTL_TIMEOUT_MS + FORCE_POWEROFF_WAIT_MS + SIGKILL_WAIT_MS;

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
  const stoptimeout = `${plan.stoptimeoutMs / 1000} s`;
  log.line('vmstated', `sending SIGTERM (ACPI power button) to bhyve pid ${bhyve.pid}; force at ${new Date(Date.now() + plan.stoptimeoutMs).toISOString()}`);
  bhyve.signal('SIGTERM');
  let exit = await within(bhyve.exited, plan.stoptimeoutMs);
  if (exit) return { exit, forced: null };

  const forced = `forced power-off after ${stoptimeout} (stoptimeout)`;
  log.line('vmstated', `guest did not power off within ${stoptimeout}: forcing a power-off`);
  const poweroff = await forcePoweroffWhileBhyveRuns(bhyve, plan);
  if (poweroff.abandoned) return { exit: await bhyve.exited, forced };
  if (!poweroff.ok) {
    const failure = `${describeCall(['--force-poweroff'])} ${failureDetail(poweroff)}`;
    if (!bhyve.isAlive()) return { exit: await bhyve.exited, forced: `bhyve exited though the forced power-off failed (${failure})` };
    log.line('vmstated', `forced power-off FAILED (${failure}): sending SIGKILL to bhyve pid ${bhyve.pid}`);
    return killBhyve(bhyve, log, `SIGKILL after the forced power-off failed (${failure})`);
  }
  exit = await within(bhyve.exited, FORCE_POWEROFF_WAIT_MS);
  if (exit) return { exit, forced };

  log.line('vmstated', `bhyve pid ${bhyve.pid} still running ${FORCE_POWEROFF_WAIT_MS / 1000} s after the forced power-off: sending SIGKILL`);
  return killBhyve(bhyve, log, `${forced}, then SIGKILL ${FORCE_POWEROFF_WAIT_MS / 1000} s later`);
}

/**
 * `bhyvectl --force-poweroff`, given up on (its process group killed) when bhyve has exited and
 * it still has not finished a moment later: it has nothing left to do.
 */
async function forcePoweroffWhileBhyveRuns(bhyve: BhyveProcess, plan: StopPlan): Promise<BhyvectlResult> {
  const abandon = new AbortController();
  let grace: NodeJS.Timeout | undefined;
  let returned = false;
  void bhyve.exited.then(() => {
    if (!returned) grace = setTimeout(() => abandon.abort('bhyve exited'), POWEROFF_AFTER_EXIT_GRACE_MS);
  });
  try {
    return await forcePoweroff(plan.bhyvectl, plan.name, plan.log, abandon.signal);
  } finally {
    returned = true;
    clearTimeout(grace);
  }
}

async function killBhyve(bhyve: BhyveProcess, log: VmLog, forced: string): Promise<StopResult> {
  bhyve.signal('SIGKILL');
  const exit = await within(bhyve.exited, SIGKILL_WAIT_MS);
  if (exit) return { exit, forced };
  log.line('vmstated', `bhyve pid ${bhyve.pid} survived SIGKILL for ${SIGKILL_WAIT_MS / 1000} s`);
  return { exit: null, forced };
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms))),
  ]);
}
