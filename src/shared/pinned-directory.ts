/**
 * Working inside a directory that passed the trust rule, so that a name created, renamed or
 * removed there lands in that very directory even if a path component above it is swapped for a
 * symbolic link meanwhile. C would use openat(2) and renameat(2) on a descriptor of the
 * directory; Node has neither, so the working directory plays that descriptor's part: chdir into
 * it, check that `.` is the directory that was checked (same device and inode, still trusted),
 * then use names relative to `.`.
 *
 * Synchronous on purpose: nothing else of this process runs while its working directory is
 * changed, and it is changed back before the function returns. Only the VM worker uses it; every
 * other path it touches is absolute.
 */
import fs from 'node:fs';
import { checkTrustedPath, trustedOwners, untrustedBecause } from './trusted-path.js';

/** A directory as the trust check saw it. */
export interface TrustedDirectory {
  /** As named (for messages). */
  path: string;
  /** Its real path, every link resolved. */
  real: string;
  dev: number;
  ino: number;
}

/** `dir` checked with the trust rule (the sticky bit does not help it); throws, saying why, when it fails. */
export function trustedDirectory(dir: string): TrustedDirectory {
  const verdict = checkTrustedPath(dir);
  if (!verdict.trusted) throw new Error(`directory ${dir} is not trusted: ${verdict.reason}`);
  if (!verdict.stat.isDirectory()) throw new Error(`${dir} is not a directory`);
  return { path: dir, real: verdict.real, dev: verdict.stat.dev, ino: verdict.stat.ino };
}

/** Runs `work` with `.` being `dir` (verified); relative names in it resolve there. */
export function inTrustedDirectory<T>(dir: TrustedDirectory, work: () => T): T {
  const previous = currentDirectory();
  process.chdir(dir.real);
  try {
    const here = fs.statSync('.');
    if (here.dev !== dir.dev || here.ino !== dir.ino) throw new Error(`directory ${dir.path} was replaced after it was checked`);
    const why = untrustedBecause(here, trustedOwners());
    if (why !== null) throw new Error(`directory ${dir.path} is no longer trusted: ${why}`);
    return work();
  } finally {
    try {
      process.chdir(previous);
    } catch {
      process.chdir('/');
    }
  }
}

function currentDirectory(): string {
  try {
    return process.cwd();
  } catch {
    return '/'; // it was removed
  }
}
