/**
 * Daemonizing with a readiness pipe (src/shared/readiness.ts). The parent re-spawns vmstated
 * detached (its own session) and exits 0 only when the child reports that it serves (config read,
 * socket bound, pidfile written); a failure report, or the child dying first, makes it exit
 * non-zero. This fixes the man page's BUG: a daemon that failed to initialize no longer exits 0.
 */
import { spawn } from 'node:child_process';
import { awaitReadiness, readyPipeEnv } from '../shared/readiness.js';

/** Bounded: a startup that hangs must not hang the rc script that started us. */
const STARTUP_TIMEOUT_MS = 60_000;

/** In the parent: start the daemon detached and resolve to our exit status once it settles. */
export async function daemonize(argv: readonly string[]): Promise<number> {
  const script = process.argv[1] ?? '';
  const child = spawn(process.execPath, [...process.execArgv, script, ...argv], {
    // Keep argv[0] as we were started ("node"): rc.subr finds the daemon by it in ps(1).
    argv0: process.argv0,
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    env: readyPipeEnv(),
    // Our cwd: the child reads the same argv, whose relative paths (-c ./vms) mean what they meant
    // here; it moves to / once it has them (src/daemon/run.ts).
  });
  const readiness = await awaitReadiness(child, STARTUP_TIMEOUT_MS);
  child.unref();
  switch (readiness.kind) {
    case 'ready':
      return 0;
    case 'failed':
      return failure(readiness.error);
    case 'ended':
      return failure(`the daemon ${readiness.how} during startup (see its log)`);
    case 'timeout':
      child.kill('SIGTERM');
      return failure(`the daemon did not report ready within ${STARTUP_TIMEOUT_MS / 1000} s; stopped it`);
  }
}

function failure(message: string): number {
  process.stderr.write(`vmstated: ${message}\n`);
  return 1;
}
