/**
 * Running one hook script: the executable named after the state in the script directory.
 * Completion is decided by the hook's own exit, never by EOF on its pipes (a background child may
 * keep them open for ever). Past the timeout its whole process group gets SIGTERM, then SIGKILL.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TransitionReason, VmState } from '../src/protocol/types.js';
import { checkTrustedPath } from '../src/shared/trusted-path.js';
import { drainThenRelease } from './drain.js';
import { killProcessGroup } from './process-group.js';
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

/** The environment a hook gets: the VM, the state and why, bhyve's pid and exit code in this run. */
export function hookEnvironment(
  vm: { name: string; dir: string },
  state: VmState,
  reason: TransitionReason,
  run: { pid: number | null; exitCode: number | null },
): Record<string, string> {
  const env: Record<string, string> = {
    VMSTATED_VM: vm.name,
    VMSTATED_STATE: state,
    VMSTATED_REASON: reason,
    VMSTATED_CONFIGDIR: vm.dir,
  };
  if (run.pid !== null) env.VMSTATED_PID = String(run.pid);
  if (run.exitCode !== null) env.VMSTATED_EXIT = String(run.exitCode);
  return env;
}

/** What is at a hook's path, checked again at each run: files change after the config load. */
export type HookLookup =
  | { kind: 'absent' }
  | { kind: 'run'; file: string }
  /** A trusted file that cannot be executed: skipped, as a forgotten chmod. */
  | { kind: 'skip'; file: string }
  /** It fails the trust rule (src/shared/trusted-path.ts): never run, and the step fails. */
  | { kind: 'refused'; file: string; reason: string };

export function lookUpHook(scriptDir: string, state: VmState): HookLookup {
  const file = path.join(scriptDir, state);
  const verdict = checkTrustedPath(file);
  if (!verdict.trusted) return verdict.missing ? { kind: 'absent' } : { kind: 'refused', file, reason: verdict.reason };
  if (!verdict.stat.isFile()) return { kind: 'skip', file };
  try {
    fs.accessSync(verdict.real, fs.constants.X_OK);
    return { kind: 'run', file };
  } catch {
    return { kind: 'skip', file };
  }
}

/** The hook's path when it will run; null when absent, skipped or refused. */
export function findHook(scriptDir: string, state: VmState): string | null {
  const lookup = lookUpHook(scriptDir, state);
  return lookup.kind === 'run' ? lookup.file : null;
}

export function runHook(run: HookRun): Promise<HookResult> {
  const lookup = lookUpHook(run.scriptDir, run.state);
  const started = Date.now();
  const notRun = (ok: boolean, outcome: string): Promise<HookResult> =>
    Promise.resolve({ hook: run.state, ran: false, ok, exitCode: null, signal: null, timedOut: false, durationMs: 0, outcome });
  switch (lookup.kind) {
    case 'absent':
      return notRun(true, 'absent');
    case 'skip':
      run.log.line('vmstated', `hook ${lookup.file} is not an executable file: skipped (chmod +x to use it)`);
      return notRun(true, 'absent');
    case 'refused':
      run.log.line('vmstated', `hook ${lookup.file} is not trusted, not run: ${lookup.reason}`);
      return notRun(false, `not run: it is not trusted: ${lookup.reason}`);
    case 'run':
      break;
  }
  const file = lookup.file;
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
    const killGroup = (signal: NodeJS.Signals): void => killProcessGroup(child, signal);
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
