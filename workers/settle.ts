/**
 * The settle time (`settletime`, default 1 s, 0 turns it off): a launch is done when bhyve has
 * stayed up that long, or has exited. bhyve refuses a bad config, a missing disk or tap, a busy
 * instance... within moments of its launch (exit 4, or 1 for a usage error; usr.sbin/bhyve/
 * bhyverun.c), so a start that returned as soon as bhyve was forked said "running" for a VM that
 * was already gone.
 *
 * - A cold start or a commanded restart whose bhyve exits within the settle time has failed: the
 *   VM goes to failure mode at once (no restart loop, one launch), and the failure carries bhyve's
 *   last stderr lines for the reply.
 * - An automatic relaunch (after a guest reboot or crash) whose bhyve exits within it is handled as
 *   any exit of that bhyve (in the same mailbox job, so that every job still ends with the VM at
 *   rest or running): the restart window is the guard against a relaunch loop, and a guest may well
 *   reboot again quickly. Only `running` waits for the settle time.
 * The VM stays in its state (start_storage, or restarted) while it settles; `running` (and its
 * hook) comes after.
 */
import type { BhyveExit } from '../src/protocol/types.js';
import { explainExit } from './bhyve-exit.js';
import type { BhyveProcess } from './bhyve-process.js';
import { SequenceFailure } from './sequence-failure.js';

/** When each bhyve was launched (exec'd) and when its exit was seen. */
const launches = new WeakMap<BhyveProcess, { launchedAt: number; endedAt: number | null }>();

/** Records the launch of `bhyve`: the settle time counts from now. */
export function noteLaunch(bhyve: BhyveProcess): void {
  const times = { launchedAt: Date.now(), endedAt: null as number | null };
  launches.set(bhyve, times);
  void bhyve.exited.then(() => (times.endedAt = Date.now()));
}

/**
 * Waits until bhyve has run `settleSeconds` since its launch, or has exited; resolves with the exit
 * when it came within the settle time, else null (also when the settle time is 0: off).
 */
export async function settle(bhyve: BhyveProcess, settleSeconds: number): Promise<BhyveExit | null> {
  if (!(settleSeconds > 0)) return null;
  const times = launches.get(bhyve) ?? { launchedAt: Date.now(), endedAt: null };
  const deadline = times.launchedAt + settleSeconds * 1000;
  let timer: NodeJS.Timeout | undefined;
  const waitMs = deadline - Date.now();
  if (waitMs > 0) {
    await Promise.race([bhyve.exited, new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  }
  if (times.endedAt === null || times.endedAt > deadline) return null;
  return explainExit(await bhyve.exited, bhyve.stderrTail());
}

/** A cold start or commanded restart: throws a SequenceFailure, with bhyve's last stderr lines, when bhyve exits within the settle time. */
export async function settleOrFail(bhyve: BhyveProcess, settleSeconds: number, command: 'start' | 'restart'): Promise<void> {
  const exit = await settle(bhyve, settleSeconds);
  if (exit === null) return;
  const times = launches.get(bhyve);
  const ranMs = times?.endedAt != null ? times.endedAt - times.launchedAt : 0;
  throw new SequenceFailure(failedStartReason(command, exit, ranMs, settleSeconds, bhyve.stderrTail()), { bhyveStderr: bhyve.stderrTail() });
}

/** One line: what ended the start, when, and bhyve's last word on it. */
export function failedStartReason(command: 'start' | 'restart', exit: BhyveExit, ranMs: number, settleSeconds: number, stderrTail: readonly string[]): string {
  const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with status ${exit.code ?? 'unknown'} (${exit.meaning})`;
  const last = [...stderrTail].reverse().find((line) => line.trim() !== '');
  const said = last === undefined ? '' : `: ${last.trim()}`;
  return `${command} failed: bhyve ${how} ${(ranMs / 1000).toFixed(1)} s after its launch, within the settle time of ${settleSeconds} s${said}`;
}
