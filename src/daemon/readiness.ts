/**
 * Daemonizing with a readiness pipe. The parent re-spawns vmstated detached (its own session)
 * with a pipe on fd 3 and exits 0 only when the child writes that it serves (config read, socket
 * bound, pidfile written); a failure message, or the child dying first, makes it exit non-zero.
 * This fixes the man page's BUG: a daemon that failed to initialize no longer exits 0.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';

/** Set in the daemonized child: the fd on which it reports readiness. */
export const READY_FD_ENV = 'VMSTATED_READY_FD';
const READY_FD = 3;
/** Bounded: a startup that hangs must not hang the rc script that started us. */
const STARTUP_TIMEOUT_MS = 60_000;

interface ReadyMessage {
  ready?: boolean;
  pid?: number;
  error?: string;
}

/** In the parent: start the daemon detached and resolve to our exit status once it settles. */
export function daemonize(argv: readonly string[]): Promise<number> {
  const script = process.argv[1] ?? '';
  const child = spawn(process.execPath, [...process.execArgv, script, ...argv], {
    // Keep argv[0] as we were started ("node"): rc.subr finds the daemon by it in ps(1).
    argv0: process.argv0,
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    env: { ...process.env, [READY_FD_ENV]: String(READY_FD) },
    cwd: '/',
  });
  const pipe = child.stdio[READY_FD] as NodeJS.ReadableStream | null;
  return new Promise((resolve) => {
    let settled = false;
    let text = '';
    const settle = (status: number, message?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (message !== undefined) process.stderr.write(`vmstated: ${message}\n`);
      pipe?.removeAllListeners();
      (pipe as { destroy?: () => void } | null)?.destroy?.();
      child.removeAllListeners();
      child.unref();
      resolve(status);
    };
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      settle(1, `the daemon did not report ready within ${STARTUP_TIMEOUT_MS / 1000} s; stopped it`);
    }, STARTUP_TIMEOUT_MS);
    child.on('error', (err) => settle(1, `cannot start the daemon: ${err.message}`));
    child.on('exit', (code, signal) => {
      const how = signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;
      settle(1, `the daemon ${how} during startup (see its log)`);
    });
    pipe?.setEncoding('utf8');
    pipe?.on('data', (chunk: string) => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline === -1) return;
      let message: ReadyMessage;
      try {
        message = JSON.parse(text.slice(0, newline)) as ReadyMessage;
      } catch {
        settle(1, `the daemon sent an unreadable readiness report: ${text.slice(0, newline)}`);
        return;
      }
      if (message.ready === true) settle(0);
      else settle(1, message.error ?? 'the daemon failed to start');
    });
  });
}

/** In the daemonized child: the readiness fd, taken out of the environment our workers inherit. */
export function takeReadyFd(): number | null {
  const value = process.env[READY_FD_ENV];
  delete process.env[READY_FD_ENV];
  if (value === undefined) return null;
  const fd = Number.parseInt(value, 10);
  return Number.isInteger(fd) && fd >= 0 ? fd : null;
}

function report(fd: number, message: ReadyMessage): void {
  try {
    fs.writeSync(fd, JSON.stringify(message) + '\n');
  } catch {
    // The parent is gone (killed, or timed out): nobody is left to tell.
  }
  try {
    fs.closeSync(fd);
  } catch {
    // Already closed.
  }
}

export function reportReady(fd: number): void {
  report(fd, { ready: true, pid: process.pid });
}

export function reportFailure(fd: number, error: string): void {
  report(fd, { error });
}
