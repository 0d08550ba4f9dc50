/**
 * Kernel-enforced locks on files in the run directory, with flock(2) semantics: one vmstated per
 * run directory (`vmstated.lock`), one worker per VM (`<vm>.lock`). The kernel drops a lock when
 * its holder dies, however it dies, so a lock file left by a crash never blocks anyone, and a pid
 * that was reused never passes for its holder. The holder writes its pid into the file so that a
 * refusal can name it.
 *
 * - FreeBSD (and the other BSDs): open(2) with O_EXLOCK|O_NONBLOCK takes the flock(2) lock as part
 *   of the open (sys/kern/vfs_vnops.c, vn_open_vnode: VOP_ADVLOCK with F_FLOCK, no F_WAIT under
 *   FNONBLOCK; O_EXLOCK is 0x0020 in sys/sys/fcntl.h), so a resident worker loads no native module
 *   for it (koffi costs a worker 1.3 MB of private memory).
 * - Linux has no O_EXLOCK: flock(2) itself, through koffi, loaded only there.
 *
 * Node opens every file with O_CLOEXEC (libuv's uv_fs_open), so a lock is never inherited by the
 * processes its holder starts (bhyve's keeper, bhyve, hooks): they cannot keep it after it dies.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';

/** sys/sys/fcntl.h (FreeBSD, and the same value on the other BSDs and macOS). */
const O_EXLOCK = 0x0020;
/** linux/fs.h via <sys/file.h>: exclusive, do not wait. */
const LOCK_EX = 2;
const LOCK_NB = 4;
/** EWOULDBLOCK (= EAGAIN) on Linux. */
const EWOULDBLOCK_LINUX = 11;
/** A lock file replaced between our open and our lock (its holder removed it): try again, a few times. */
const ATTEMPTS = 5;

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
  for (let attempt = 1; ; attempt++) {
    const fd = openLocked(file, true);
    if (fd === 'busy') return { holder: readHolder(file) };
    if (fd === 'missing') continue; // cannot happen with O_CREAT
    if (sameFile(fd, file) || attempt === ATTEMPTS) {
      writeHolder(fd);
      return { lock: heldLock(file, fd) };
    }
    fs.closeSync(fd);
  }
}

/** The pid holding the lock on `file` (null when it is held but the pid is unreadable), or undefined when free. */
export function lockHolder(file: string): number | null | undefined {
  const fd = openLocked(file, false);
  if (fd === 'busy') return readHolder(file);
  if (fd !== 'missing') fs.closeSync(fd);
  return undefined;
}

/** An fd holding the lock; 'busy' when another process holds it; 'missing' when not creating and there is no file. */
function openLocked(file: string, create: boolean): number | 'busy' | 'missing' {
  const { O_RDWR, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  const flags = O_RDWR | O_NOFOLLOW | (create ? O_CREAT : 0);
  let fd: number;
  try {
    fd = fs.openSync(file, process.platform === 'linux' ? flags : flags | O_EXLOCK | O_NONBLOCK, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return 'busy';
    if (code === 'ENOENT' && !create) return 'missing';
    throw error;
  }
  if (process.platform !== 'linux') return fd;
  const { flock, errno } = linuxFlock();
  if (flock(fd, LOCK_EX | LOCK_NB) === 0) return fd;
  const code = errno();
  fs.closeSync(fd);
  if (code === EWOULDBLOCK_LINUX) return 'busy';
  throw new Error(`flock ${file}: errno ${code}`);
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

let flockFunction: { flock(fd: number, operation: number): number; errno(): number } | null = null;

function linuxFlock(): { flock(fd: number, operation: number): number; errno(): number } {
  if (flockFunction !== null) return flockFunction;
  // Required at run time, not imported: the worker bundle must not carry (or load) koffi elsewhere.
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const flock = koffi.load('libc.so.6').func('int flock(int fd, int operation)');
  flockFunction = { flock: (fd, operation) => flock(fd, operation) as number, errno: () => koffi.errno() };
  return flockFunction;
}
