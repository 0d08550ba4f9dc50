/**
 * Whether a path is root-controlled, as sshd's StrictModes decides it (FreeBSD
 * crypto/openssh/misc.c, safe_path()): the file and every directory above it are owned by root
 * (or by the uid vmstated runs as) and writable by nobody else. Anything vmstated executes or
 * hands to bhyve must pass: whoever can write a hook is root, and whoever can write a bhyve config
 * can give the guest any disk of the host.
 *
 * The walk goes component by component from `/` with lstat, so that every directory the kernel
 * would pass through is checked, and a symbolic link is followed only when its target passes the
 * same test (its owner must be trusted too: in a sticky directory the owner of a link can replace
 * it). A directory with the sticky bit owned by a trusted user (/tmp) passes as a parent only:
 * others may create names in it, but not rename or remove ours.
 *
 * Once a path passed, nobody but a trusted user can change what it resolves to, so opening its
 * real path right after the check opens what was checked (callers compare dev/ino to be sure).
 */
import fs from 'node:fs';
import path from 'node:path';

/** S_ISVTX, the sticky bit (0001000 in FreeBSD's sys/sys/stat.h and on Linux; Node does not export it). */
const STICKY = 0o1000;
/** FreeBSD's MAXSYMLINKS (sys/sys/param.h): symbolic links expanded in one path at most. */
const MAX_SYMLINKS = 32;

export type TrustVerdict =
  | {
      trusted: true;
      /** The path with every symbolic link resolved: open this one (with O_NOFOLLOW). */
      real: string;
      /** lstat of `real`, taken during the check. */
      stat: fs.Stats;
    }
  | {
      trusted: false;
      /** Short and exact, naming the component that failed: `/etc/vmstated/web: owned by uid 1001`. */
      reason: string;
      /** The same without any path: `owned by uid 1001`. */
      why: string;
      /** True when a component does not exist (a hook that is absent, for example). */
      missing: boolean;
    };

/** The owners vmstated trusts: root, and the uid it runs as (a daemon run by a normal user). */
export function trustedOwners(): readonly number[] {
  const uid = process.geteuid?.() ?? 0;
  return uid === 0 ? [0] : [0, uid];
}

/** Checks `target` (absolute, or relative to the working directory) and every directory above it. */
export function checkTrustedPath(target: string, owners: readonly number[] = trustedOwners()): TrustVerdict {
  const absolute = path.isAbsolute(target) ? target : `${process.cwd()}/${target}`;
  return new TrustWalk(owners).check(absolute);
}

/** Why a file or directory fails (`owned by uid 1001`), or null. `parent`: a directory on the way (sticky may pass). */
export function untrustedBecause(stat: fs.Stats, owners: readonly number[], parent = false): string | null {
  if (!owners.includes(stat.uid)) return `owned by uid ${stat.uid}`;
  if (parent && stat.isDirectory() && (stat.mode & STICKY) !== 0) return null;
  const byGroup = (stat.mode & fs.constants.S_IWGRP) !== 0;
  const byOthers = (stat.mode & fs.constants.S_IWOTH) !== 0;
  if (byGroup && byOthers) return 'writable by group and others';
  if (byGroup) return 'writable by group';
  if (byOthers) return 'writable by others';
  return null;
}

type Failure = Extract<TrustVerdict, { trusted: false }>;

function fails(name: string, why: string, missing = false): Failure {
  return { trusted: false, reason: `${name}: ${why}`, why, missing };
}

class TrustWalk {
  private links = 0;

  constructor(private readonly owners: readonly number[]) {}

  /** `absolute` is walked as written: `..` goes up from the real directory reached so far, as the kernel does. */
  check(absolute: string, asParent = false): TrustVerdict {
    let current = '/';
    const root = this.visit('/', true);
    if ('reason' in root) return root;
    const parts = absolute.split('/').filter((part) => part !== '' && part !== '.');
    for (let index = 0; index < parts.length; index++) {
      const part = parts[index]!;
      if (part === '..') {
        current = path.dirname(current);
        continue;
      }
      const next = current === '/' ? `/${part}` : `${current}/${part}`;
      const last = index === parts.length - 1;
      const step = this.visit(next, asParent || !last);
      if ('reason' in step) return step;
      current = step.real;
    }
    // The end of the walk, also when it ended on `..` or at `/`: no sticky exception unless it is a parent.
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(current);
    } catch (error) {
      return failure(current, error);
    }
    const why = untrustedBecause(stat, this.owners, asParent);
    return why === null ? { trusted: true, real: current, stat } : fails(current, why);
  }

  /** One component (`name` has no symbolic link above it): its real path, or why it fails. */
  private visit(name: string, parent: boolean): { real: string } | Failure {
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(name);
    } catch (error) {
      return failure(name, error);
    }
    if (stat.isSymbolicLink()) return this.follow(name, stat, parent);
    if (parent && !stat.isDirectory()) return fails(name, 'not a directory');
    const why = untrustedBecause(stat, this.owners, parent);
    return why === null ? { real: name } : fails(name, why);
  }

  private follow(name: string, stat: fs.Stats, parent: boolean): { real: string } | Failure {
    if (!this.owners.includes(stat.uid)) return fails(name, `symbolic link owned by uid ${stat.uid}`);
    if (++this.links > MAX_SYMLINKS) return fails(name, 'too many levels of symbolic links');
    let text: string;
    try {
      text = fs.readlinkSync(name);
    } catch (error) {
      return failure(name, error);
    }
    const target = text.startsWith('/') ? text : `${path.dirname(name)}/${text}`;
    const verdict = this.check(target, parent);
    const via = `${name} is a symlink to ${text}`;
    if (!verdict.trusted) return { ...verdict, reason: `${via}: ${verdict.reason}` };
    if (parent && !verdict.stat.isDirectory()) return fails(via, 'not a directory');
    return { real: verdict.real };
  }
}

function failure(name: string, error: unknown): Failure {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return fails(name, 'does not exist', true);
  if (code === 'ENOTDIR') return fails(name, 'not a directory');
  if (code === 'EACCES') return fails(name, 'permission denied');
  return fails(name, `cannot be examined (${code ?? (error as Error).message})`);
}
