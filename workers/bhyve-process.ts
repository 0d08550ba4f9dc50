/**
 * The bhyve process: launched as our own child (so we read its real exit status), or adopted from
 * a worker that died (then only watched, and its exit status is unknown).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { BhyveExit } from '../src/protocol/types.js';
import { UNKNOWN_EXIT, describeExit } from './bhyve-exit.js';
import { drainThenRelease } from './drain.js';
import { LineTail } from './line-tail.js';
import type { VmLog } from './vm-log.js';
import { isProcessAlive } from '../src/shared/process.js';

const ADOPTED_POLL_MS = 250;

/**
 * bhyve's console and diagnostics go to pipes the worker reads. If the worker dies, a write to
 * such a pipe would kill bhyve with SIGPIPE and lose the VM; with SIGPIPE ignored (an ignored
 * signal survives exec, and libuv resets every handler in the child) the write fails with EPIPE
 * and the guest runs on until the next worker adopts it. `exec` keeps bhyve's pid the shell's.
 *
 * The shell is started ahead (see prepareBhyve) and execs bhyve, stdin from /dev/null, only once
 * it reads "go" on its stdin; on end of input (the worker changed its mind, or died) it exits
 * without starting anything.
 */
const IGNORE_SIGPIPE_WAIT_THEN_EXEC = 'trap "" PIPE; IFS= read -r word && [ "$word" = go ] || exit 0; exec "$0" "$@" </dev/null';
const GO = 'go\n';

export interface BhyveProcess {
  pid: number;
  argv: string[];
  /** Resolves once, when bhyve is gone. */
  exited: Promise<BhyveExit>;
  isAlive(): boolean;
  signal(signal: NodeJS.Signals): void;
  /** The last lines (at most 20) bhyve wrote on stderr in this run; complete once `exited` resolved. */
  stderrTail(): string[];
}

/** A shell ready to become bhyve: forked ahead, so the fork is not on the relaunch's critical path. */
export interface PendingBhyve {
  pid: number;
  argv: string[];
  /** Execs bhyve now (its config file must be written by then). */
  go(): BhyveProcess;
  /** bhyve is not wanted after all: the waiting shell exits without starting it. */
  cancel(): void;
}

/**
 * Forks the shell that will exec `<bhyve> -k <generatedFile> <name>` on go(), with stdin from
 * /dev/null and its output piped into the VM log: bhyve never shares the worker's own
 * descriptors. Rejects when it cannot be started.
 */
export function prepareBhyve(bhyve: string, generatedFile: string, name: string, log: VmLog): Promise<PendingBhyve> {
  const argv = [bhyve, '-k', generatedFile, name];
  return new Promise((resolve, reject) => {
    const unusable = unlaunchable(bhyve);
    if (unusable) {
      reject(new Error(`cannot launch ${bhyve}: ${unusable}`));
      return;
    }
    const child = spawn('/bin/sh', ['-c', IGNORE_SIGPIPE_WAIT_THEN_EXEC, ...argv], {
      // its own session: a signal meant for the worker's group does not reach the guest,
      // and bhyve outlives a worker crash (the next worker adopts it)
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let alive = true;
    const stderr = new LineTail();
    const exited = new Promise<BhyveExit>((resolveExit) => {
      child.once('exit', (code, signal) => {
        alive = false;
        // bhyve's last words come before the exit line in the log
        void drainThenRelease([child.stdout, child.stderr]).then(() => resolveExit(describeExit(code, signal)));
      });
    });
    // a shell that died before go() makes the write fail: its exit tells what happened
    child.stdin?.on('error', () => {});
    child.once('error', (error) => {
      if (child.pid === undefined) reject(new Error(`cannot launch ${bhyve}: ${error.message}`));
    });
    child.once('spawn', () => {
      const pid = child.pid as number;
      if (child.stdout) log.follow(child.stdout, `bhyve[${pid}]/stdout`);
      if (child.stderr) log.follow(child.stderr, `bhyve[${pid}]/stderr`);
      child.stderr?.on('data', (chunk: string) => stderr.push(chunk));
      resolve({
        pid,
        argv,
        go: () => {
          child.stdin?.end(GO);
          return {
            pid,
            argv,
            exited,
            isAlive: () => alive,
            signal: (signal) => {
              if (alive) child.kill(signal);
            },
            stderrTail: () => stderr.lines(),
          };
        },
        cancel: () => child.stdin?.end(),
      });
    });
  });
}

/** Why `path` cannot be executed, or null when it can (checked here: the shell would only exit 127). */
function unlaunchable(path: string): string | null {
  try {
    fs.accessSync(path, fs.constants.X_OK);
    return fs.statSync(path).isFile() ? null : 'not a file';
  } catch (error) {
    return (error as Error).message;
  }
}

/** Watch a bhyve we did not start (`process.kill(pid, 0)` polls); its exit status is unknown. */
export function adoptBhyve(pid: number, argv: string[] = []): BhyveProcess {
  let alive = isProcessAlive(pid);
  const exited = new Promise<BhyveExit>((resolve) => {
    const poll = (): void => {
      alive = isProcessAlive(pid);
      if (alive) setTimeout(poll, ADOPTED_POLL_MS);
      else resolve(UNKNOWN_EXIT);
    };
    poll();
  });
  return {
    pid,
    argv,
    exited,
    isAlive: () => alive,
    stderrTail: () => [],
    signal: (signal) => {
      if (!alive) return;
      try {
        process.kill(pid, signal);
      } catch {
        // gone in between: the poll will see it
      }
    },
  };
}
