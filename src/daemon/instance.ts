/**
 * One vmstated per run directory and per socket: a second instance refuses to start, while a
 * pidfile, socket or lock file left by a crash never blocks a start.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { tryLockFile, type FileLock } from '../shared/file-lock.js';
import { isProcessAlive } from '../shared/process.js';
import { readPidfile } from './pidfile.js';

/** The daemon's lock in its run directory, held for its whole life. */
export const RUNDIR_LOCK = 'vmstated.lock';

/** Resolves true when something accepts connections on this Unix socket path. */
export function socketAnswers(sockpath: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(sockpath);
    const finish = (answers: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answers);
    };
    // A listener that accepts but never answers is still a live daemon (busy, not gone).
    const timer = setTimeout(() => finish(true), timeoutMs);
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

export class AlreadyRunningError extends Error {}

/**
 * Throws AlreadyRunningError when another vmstated serves `sockpath`; removes a stale socket file
 * otherwise. A live pid in the pidfile alone is not enough (pids are reused after a crash).
 */
export async function claimInstance(pidfile: string, sockpath: string): Promise<void> {
  const pid = readPidfile(pidfile);
  let stat: fs.Stats | null = null;
  try {
    stat = fs.lstatSync(sockpath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (stat === null) return;
  if (!stat.isSocket()) {
    throw new Error(`${sockpath} exists and is not a socket; not removing it`);
  }
  if (await socketAnswers(sockpath)) {
    const owner = pid !== null && isProcessAlive(pid) ? ` (pid ${pid}, from ${pidfile})` : '';
    throw new AlreadyRunningError(`another vmstated is already serving ${sockpath}${owner}`);
  }
  fs.rmSync(sockpath, { force: true });
}

/**
 * Takes the run directory (created 0750 if missing) for this daemon: its workers, records and
 * bhyve runs are this daemon's alone, whatever socket another vmstated serves. The kernel holds
 * the lock (src/shared/file-lock.ts) until this process exits, however it exits.
 */
export function claimRunDir(rundir: string): FileLock {
  fs.mkdirSync(rundir, { recursive: true, mode: 0o750 });
  const file = path.join(rundir, RUNDIR_LOCK);
  const attempt = tryLockFile(file);
  if ('lock' in attempt) return attempt.lock;
  const holder = attempt.holder === null ? 'another vmstated' : `another vmstated (pid ${attempt.holder})`;
  throw new AlreadyRunningError(`${holder} already uses the run directory ${rundir} (it holds ${file})`);
}
