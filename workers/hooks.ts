/**
 * Running one hook script: the executable named after the state in the script directory.
 * Completion is decided by the hook's own exit, never by EOF on its pipes (a background child may
 * keep them open for ever). Past the timeout its whole process group gets SIGTERM, then SIGKILL.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { VmState } from '../src/protocol/types.js';
import { drainThenRelease } from './drain.js';
import type { VmLog } from './vm-log.js';

/** Time a timed-out hook gets between SIGTERM and SIGKILL. */
export const HOOK_KILL_GRACE_MS = 2_000;

export interface HookRun {
  state: VmState;
  scriptDir: string;
  env: Record<string, string>;
  timeoutMs: number;
  log: VmLog;
}

export interface HookResult {
  hook: VmState;
  /** False when there is no such executable (which counts as success). */
  ran: boolean;
  ok: boolean;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  /** The outcome in words, e.g. "exit 0", "exit 3", "timed out after 1 s (killed)". */
  outcome: string;
}

/** The hook's path when an executable file exists there; null when absent. */
export function findHook(scriptDir: string, state: VmState, log?: VmLog): string | null {
  const file = path.join(scriptDir, state);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return null;
  }
  try {
    if (!stat.isFile()) throw new Error('not a regular file');
    fs.accessSync(file, fs.constants.X_OK);
    return file;
  } catch {
    log?.line('vmstated', `hook ${file} is not an executable file: skipped (chmod +x to use it)`);
    return null;
  }
}

export function runHook(run: HookRun): Promise<HookResult> {
  const file = findHook(run.scriptDir, run.state, run.log);
  const started = Date.now();
  if (file === null) {
    return Promise.resolve({ hook: run.state, ran: false, ok: true, exitCode: null, signal: null, timedOut: false, durationMs: 0, outcome: 'absent' });
  }
  return new Promise((resolve) => {
    const source = `hook ${run.state}`;
    run.log.line('vmstated', `hook ${run.state} starts: ${file} (timeout ${run.timeoutMs / 1000} s)`);
    const child = spawn(file, [], {
      cwd: run.scriptDir,
      env: { ...process.env, ...run.env },
      detached: true, // its own process group, so a timeout can kill everything it started
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let timedOut = false;
    let settled = false;
    let graceTimer: NodeJS.Timeout | null = null;
    const killGroup = (signal: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // the group is already empty
      }
    };
    const timeout = setTimeout(() => {
      timedOut = true;
      run.log.line('vmstated', `hook ${run.state} still running after ${run.timeoutMs / 1000} s: sending SIGTERM to its process group`);
      killGroup('SIGTERM');
      graceTimer = setTimeout(() => {
        run.log.line('vmstated', `hook ${run.state} ignored SIGTERM: sending SIGKILL to its process group`);
        killGroup('SIGKILL');
      }, HOOK_KILL_GRACE_MS);
    }, run.timeoutMs);

    if (child.stdout) run.log.follow(child.stdout, `${source}/stdout`);
    if (child.stderr) run.log.follow(child.stderr, `${source}/stderr`);

    const finish = (exitCode: number | null, signal: string | null, failure?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      if (graceTimer) clearTimeout(graceTimer);
      if (timedOut) killGroup('SIGKILL'); // whatever it left behind goes too
      const durationMs = Date.now() - started;
      const ok = !timedOut && failure === undefined && exitCode === 0;
      const outcome = timedOut
        ? `timed out after ${run.timeoutMs / 1000} s (killed)`
        : failure ?? (signal !== null ? `killed by ${signal}` : `exit ${exitCode}`);
      void drainThenRelease([child.stdout, child.stderr]).then(() =>
        resolve({ hook: run.state, ran: true, ok, exitCode, signal, timedOut, durationMs, outcome }),
      );
    };
    child.once('exit', (code, signal) => finish(code, signal));
    child.once('error', (error) => finish(null, null, `could not be run: ${error.message}`));
  });
}
