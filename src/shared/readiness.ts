/**
 * A readiness pipe between a parent and the detached child it starts. The child reports once, on
 * fd 3, that it serves (or why it cannot); the parent waits for that report, the child's end, or
 * a timeout, whichever comes first. vmstated uses it to daemonize (src/daemon/readiness.ts) and
 * to start each VM worker (workers/spawn.ts): no polling, and a child that dies says so at once.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';

/** Set in the child's environment: the fd on which it reports readiness. */
export const READY_FD_ENV = 'VMSTATED_READY_FD';
/** The child's fd of the pipe: spawn it with `stdio[3] = 'pipe'`. */
export const READY_FD = 3;

export type Readiness =
  | { kind: 'ready'; pid: number }
  /** The child reported why it cannot serve. */
  | { kind: 'failed'; error: string }
  /** The child could not be started, or ended before it reported. */
  | { kind: 'ended'; how: string }
  | { kind: 'timeout' };

interface ReadyMessage {
  ready?: boolean;
  pid?: number;
  error?: string;
}

/** The environment for a child that should report on READY_FD. */
export function readyPipeEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, [READY_FD_ENV]: String(READY_FD) };
}

/** In the parent: the child's first report. Never rejects; stops listening to the child once settled. */
export function awaitReadiness(child: ChildProcess, timeoutMs: number): Promise<Readiness> {
  const pipe = child.stdio[READY_FD] as NodeJS.ReadableStream & { destroy(): void } | null | undefined;
  return new Promise((resolve) => {
    let text = '';
    const settle = (readiness: Readiness): void => {
      clearTimeout(timer);
      pipe?.removeAllListeners();
      pipe?.destroy();
      child.removeListener('error', onError);
      child.removeListener('exit', onExit);
      resolve(readiness);
    };
    const onError = (error: Error): void => settle({ kind: 'ended', how: `could not be started (${error.message})` });
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      settle({ kind: 'ended', how: signal !== null ? `was killed by ${signal}` : `exited with status ${code}` });
    const timer = setTimeout(() => settle({ kind: 'timeout' }), timeoutMs);
    child.on('error', onError);
    child.on('exit', onExit);
    pipe?.setEncoding('utf8');
    pipe?.on('data', (chunk: string) => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline !== -1) settle(parseReport(text.slice(0, newline)));
    });
  });
}

function parseReport(line: string): Readiness {
  let message: ReadyMessage;
  try {
    message = JSON.parse(line) as ReadyMessage;
  } catch {
    return { kind: 'failed', error: `an unreadable readiness report: ${line}` };
  }
  if (message.ready === true && typeof message.pid === 'number') return { kind: 'ready', pid: message.pid };
  return { kind: 'failed', error: message.error ?? 'it failed to start' };
}

/** In the child: the readiness fd, taken out of the environment its own children inherit. */
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
