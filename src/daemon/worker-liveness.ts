/**
 * Is a VM's worker still answering? A command may wait on its worker for many minutes (every hook
 * at its timeout, the stop escalation), so a worker that hangs (stopped with SIGSTOP, stuck) must
 * not hold the command, and its caller, for that long. Before the command is sent the worker must
 * answer a cheap call (its status) within ANSWER_BEFORE_MS; while the command runs it is asked
 * again every CHECK_EVERY_MS and must answer within ANSWER_DURING_MS (more lenient: a worker busy
 * with a stop on a loaded host is slow, not hung). One that does not fails the command with
 * `its worker (pid N) does not answer`, and the VM's status carries that as `workerProblem` until
 * the worker answers again (its next status replaces the registry's copy).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { VmStatus } from '../protocol/types.js';
import type { Logger } from './logger.js';
import { TimeoutError } from './timeout.js';
import type { VmEntry } from './vm-entry.js';
import type { WorkerHandle } from './worker-handle.js';

export const ANSWER_BEFORE_MS = 5_000;
export const CHECK_EVERY_MS = 5_000;
export const ANSWER_DURING_MS = 20_000;

/** A status with the registry's note on a worker that does not answer (documented in vmstated(8)). */
export type StatusWithWorkerProblem = VmStatus & { workerProblem?: string };

export class WorkerNotAnswering extends Error {}

/**
 * Runs `action`, a call on the VM's worker, once the worker answered, and rejects with
 * WorkerNotAnswering as soon as it stops answering while the action runs.
 */
export async function whileWorkerAnswers<T>(entry: VmEntry, log: Logger, action: () => Promise<T>): Promise<T> {
  const worker = entry.worker;
  if (worker === null) return action();
  await answersWithin(entry, worker, ANSWER_BEFORE_MS, log);
  const done = new AbortController();
  const watchdog = keepAsking(entry, worker, log, done.signal);
  watchdog.catch(() => {}); // seen through the race; once the action is done it no longer matters
  try {
    return await Promise.race([action(), watchdog]);
  } finally {
    done.abort();
  }
}

async function keepAsking(entry: VmEntry, worker: WorkerHandle, log: Logger, done: AbortSignal): Promise<never> {
  for (;;) {
    await sleep(CHECK_EVERY_MS, undefined, { signal: done });
    await answersWithin(entry, worker, ANSWER_DURING_MS, log, done);
  }
}

/** Asks the worker for its status (which refreshes the VM's); notes and throws when no answer comes. */
async function answersWithin(entry: VmEntry, worker: WorkerHandle, ms: number, log: Logger, done?: AbortSignal): Promise<void> {
  try {
    await worker.refreshStatus(ms);
  } catch (err) {
    // A lost connection is reported by the caller as such (and onLost recovers the VM).
    if (!(err instanceof TimeoutError) || done?.aborted === true) throw err;
    throw new WorkerNotAnswering(noteWorkerSilent(entry, worker, ms, log));
  }
}

/**
 * Marks the VM's status with its worker's silence (until the worker's next status replaces it),
 * logs it, and returns the note. Also called when an events poll of the worker goes unanswered
 * (worker-handle.ts), so that `status` says so before any command is tried.
 */
export function noteWorkerSilent(entry: VmEntry, worker: WorkerHandle, waitedMs: number, log: Logger): string {
  const problem = `its worker (pid ${worker.pid}) does not answer`;
  if (entry.worker === worker) entry.status = { ...entry.status, workerProblem: problem } as StatusWithWorkerProblem;
  log.error({ vm: entry.name, workerPid: worker.pid, waitedMs }, `${entry.name}: ${problem}`);
  return problem;
}
