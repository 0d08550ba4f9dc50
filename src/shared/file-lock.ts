/**
 * Kernel-enforced locks on files in the run directory, with flock(2) semantics: one vmstated per
 * run directory (`vmstated.lock`), one worker per VM (`<vm>.worker.lock`). The kernel drops a lock when
 * its holder dies, however it dies, so a lock file left by a crash never blocks anyone, and a pid
 * that was reused never passes for its holder. The holder writes its pid into the file so that a
 * refusal can name it.
 *
 * A flock(2) lock belongs to the open file description, not to a process, and no native module
 * is loaded for it (koffi would cost every resident worker 1.3 MB of private memory):
 * - FreeBSD (and the other BSDs): open(2) with O_EXLOCK|O_NONBLOCK takes the lock as part of the
 *   open (sys/kern/vfs_vnops.c, vn_open_vnode: VOP_ADVLOCK with F_FLOCK, no F_WAIT under
 *   FNONBLOCK; O_EXLOCK is 0x0020 in sys/sys/fcntl.h).
 * - Linux has no O_EXLOCK: flock(1) of util-linux locks our descriptor, handed to it as its fd 3,
 *   and exits; the lock stays with the description we keep open.
 *
 * Node opens every file with O_CLOEXEC (libuv's uv_fs_open), so a lock is never inherited by the
 * processes its holder starts (bhyve's keeper, bhyve, hooks): they cannot keep it after it dies.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';

/** sys/sys/fcntl.h (FreeBSD, and the same value on the other BSDs and macOS). */
const O_EXLOCK = 0x0020;
/** flock(1): the lock is held by someone else (with -n). */
const FLOCK_BUSY = 1;
/** A lock file replaced between our open and our lock (its holder removed it): try again, a few times. */
const ATTEMPTS = 5;
/**
 * A lock found busy is tried again this often, this far apart, before its holder is named: a
 * lockHolder() probe holds it for a moment (flock(1) must take it to test it), and so does,
 * until its exec, a child forked meanwhile by the prober (the descriptor is O_CLOEXEC, closed only
 * at the exec). A real holder, a worker or a daemon, holds it for its whole life.
 */
const BUSY_TRIES = 25;
const BUSY_PAUSE_MS = 20;

export interface FileLock {
  readonly path: string;
  /**
   * Lets the lock go. `remove` unlinks the file first, while the lock is still held: whoever opened
   * the old file meanwhile sees that it is no longer the one at `path` and opens again.
   */
  release(options?: { remove?: boolean }): void;
}

/** Either we hold the lock now, or another process does (its pid, as it wrote it, when readable). */
export type LockAttempt = { lock: FileLock } | { holder: number | null };

/** Takes the exclusive lock on `file` (created 0600 if missing) without waiting. */
export function tryLockFile(file: string): LockAttempt {
  for (let busy = 1; ; busy++) {
    const attempt = lockOnce(file);
    if ('lock' in attempt || busy === BUSY_TRIES) return attempt;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, BUSY_PAUSE_MS);
  }
}

function lockOnce(file: string): LockAttempt {
  for (let attempt = 1; ; attempt++) {
    const fd = openLockFile(file, true);
    if (typeof fd !== 'number' || !lockedOnLinux(fd, file)) return { holder: readHolder(file) };
    if (sameFile(fd, file) || attempt === ATTEMPTS) {
      writeHolder(fd);
      return { lock: heldLock(file, fd) };
    }
    fs.closeSync(fd);
  }
}

/** The pid holding the lock on `file` (null when it is held but the pid is unreadable), or undefined when free. */
export async function lockHolder(file: string): Promise<number | null | undefined> {
  const fd = openLockFile(file, false);
  if (fd === 'missing') return undefined;
  if (fd !== 'busy') {
    let free = true;
    try {
      if (LINUX) free = await flockLater(fd, file);
    } finally {
      fs.closeSync(fd);
    }
    if (free) return undefined;
  }
  return readHolder(file);
}

const LINUX = process.platform === 'linux';

/**
 * The lock file opened, holding the lock already where open(2) can take it (not on Linux);
 * 'busy' when another process holds it; 'missing' when not creating and there is no file.
 */
function openLockFile(file: string, create: boolean): number | 'busy' | 'missing' {
  const { O_RDWR, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  const flags = O_RDWR | O_NOFOLLOW | (create ? O_CREAT : 0);
  try {
    return fs.openSync(file, LINUX ? flags : flags | O_EXLOCK | O_NONBLOCK, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return 'busy';
    if (code === 'ENOENT' && !create) return 'missing';
    throw error;
  }
}

/** Linux: whether flock(1) took the lock on `fd` (closed when not); elsewhere open(2) took it already. */
function lockedOnLinux(fd: number, file: string): boolean {
  let locked = false;
  try {
    locked = !LINUX || flockNow(fd, file);
  } finally {
    if (!locked) fs.closeSync(fd);
  }
  return locked;
}

const FLOCK_ARGS = ['-n', '-x', '3'];

/** Linux: flock(1) on our fd; true when we hold the lock now. */
function flockNow(fd: number, file: string): boolean {
  const result = spawnSync('flock', FLOCK_ARGS, { stdio: ['ignore', 'ignore', 'pipe', fd], encoding: 'utf8' });
  return flockResult(result.status, result.error?.message ?? result.stderr, file);
}

function flockLater(fd: number, file: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn('flock', FLOCK_ARGS, { stdio: ['ignore', 'ignore', 'ignore', fd] });
    child.once('error', (error) => reject(new Error(`flock ${file}: ${error.message}`)));
    child.once('exit', (code) => {
      try {
        resolve(flockResult(code, `exit status ${code}`, file));
      } catch (error) {
        reject(error);
      }
    });
  });
}

function flockResult(status: number | null, trouble: string, file: string): boolean {
  if (status === 0) return true;
  if (status === FLOCK_BUSY) return false;
  throw new Error(`cannot lock ${file} with flock(1) (util-linux): ${trouble}`);
}

function sameFile(fd: number, file: string): boolean {
  try {
    const held = fs.fstatSync(fd);
    const named = fs.lstatSync(file);
    return held.ino === named.ino && held.dev === named.dev;
  } catch {
    return false;
  }
}

function writeHolder(fd: number): void {
  fs.ftruncateSync(fd, 0);
  fs.writeSync(fd, `${process.pid}\n`, 0);
}

function readHolder(file: string): number | null {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    return /^[1-9]\d{0,9}$/.test(text) ? Number(text) : null;
  } catch {
    return null;
  }
}

function heldLock(file: string, fd: number): FileLock {
  let held = true;
  return {
    path: file,
    release(options = {}) {
      if (!held) return;
      held = false;
      if (options.remove === true) fs.rmSync(file, { force: true });
      fs.closeSync(fd);
    },
  };
}
