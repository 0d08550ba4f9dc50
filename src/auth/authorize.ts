/**
 * Who may do what (DESIGN.md section 6, Authorization):
 * - root (uid 0) may do everything;
 * - a VM's `owner` and the members of its `group` (the peer's effective gid or
 *   one of its supplementary groups) may use every VM command on that VM;
 * - other users do not see the VM: `hidden`, which the daemon answers with
 *   NOT_FOUND exactly as for a VM that does not exist;
 * - reload and shutdown are root's: `forbidden`.
 * Commands without a VM (status of all VMs, top, events, problems) are allowed;
 * the daemon lists only what `canSee` allows.
 *
 * Owner and group names are resolved through the system's user database
 * (getpwnam/getgrnam, so NSS/LDAP users work), falling back to /etc/passwd and
 * /etc/group if libc cannot be loaded. Answers are cached for a few seconds,
 * and dropped at once when /etc/passwd or /etc/group changes (useradd, pw,
 * vipw rewrite them), so a new local user works at their next request;
 * `clearIdentityCache()` (on reload) drops everything, for NSS users too.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Command } from '../protocol/types.js';
import { libc } from './libc.js';
import type { PeerCredentials } from './peercred.js';

export type Decision = 'allow' | 'hidden' | 'forbidden';

/** What authorization needs to know about a VM (VmConfig and VmStatus both fit). */
export interface VmAccess {
  owner?: string | number | null;
  group?: string | number | null;
}

export const ROOT_ONLY_COMMANDS: ReadonlySet<Command> = new Set<Command>(['reload', 'shutdown']);

/** How long a resolved name (or a name that did not resolve) is trusted. */
export const IDENTITY_CACHE_MS = 10_000;

interface CacheEntry {
  id: number | null;
  expires: number;
}
const userCache = new Map<string, CacheEntry>();
const groupCache = new Map<string, CacheEntry>();

export function clearIdentityCache(): void {
  userCache.clear();
  groupCache.clear();
}

const ACCOUNT_FILES = ['/etc/passwd', '/etc/group'];
let accountFilesStamp = '';
/** True while filterVisible runs: it looked at the account files once for the whole list. */
let accountFilesChecked = false;

/** Drops cached answers when an account file was rewritten since the last look. */
function dropCacheIfAccountsChanged(): void {
  const stamp = ACCOUNT_FILES.map((file) => {
    try {
      const st = statSync(file, { bigint: true });
      return `${st.ino}:${st.size}:${st.mtimeNs}`;
    } catch {
      return '-';
    }
  }).join('|');
  if (stamp !== accountFilesStamp) {
    accountFilesStamp = stamp;
    clearIdentityCache();
  }
}

const NUMERIC_ID = /^\d+$/;

function resolve(
  nameOrId: string | number,
  cache: Map<string, CacheEntry>,
  lookup: (name: string) => number | null,
): number | null {
  if (typeof nameOrId === 'number') return Number.isSafeInteger(nameOrId) && nameOrId >= 0 ? nameOrId : null;
  const name = nameOrId.trim();
  if (NUMERIC_ID.test(name)) return Number(name);
  if (name === '') return null;
  if (!accountFilesChecked) dropCacheIfAccountsChanged();
  const now = Date.now();
  const hit = cache.get(name);
  if (hit !== undefined && hit.expires > now) return hit.id;
  const id = lookup(name);
  cache.set(name, { id, expires: now + IDENTITY_CACHE_MS });
  return id;
}

/** The uid of a user name or numeric uid; null when no such user exists. */
export function resolveUser(nameOrId: string | number): number | null {
  return resolve(nameOrId, userCache, lookupUser);
}

/** The gid of a group name or numeric gid; null when no such group exists. */
export function resolveGroup(nameOrId: string | number): number | null {
  return resolve(nameOrId, groupCache, lookupGroup);
}

function lookupUser(name: string): number | null {
  const c = tryLibc();
  if (c === null) return lookupInFile('/etc/passwd', name);
  const entry = c.getpwnam(name);
  return entry === null || entry === 0n ? null : c.passwdUid(entry);
}

function lookupGroup(name: string): number | null {
  const c = tryLibc();
  if (c === null) return lookupInFile('/etc/group', name);
  const entry = c.getgrnam(name);
  return entry === null || entry === 0n ? null : c.groupGid(entry);
}

let libcUnavailable = false;
function tryLibc(): ReturnType<typeof libc> | null {
  if (libcUnavailable) return null;
  try {
    return libc();
  } catch {
    libcUnavailable = true;
    return null;
  }
}

/** `name:password:id:...` files (/etc/passwd, /etc/group): the third field of the line for name. */
export function lookupInFile(file: string, name: string): number | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  return lookupInColonFile(text, name);
}

export function lookupInColonFile(text: string, name: string): number | null {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const fields = line.split(':');
    if (fields[0] === name && fields.length >= 3 && NUMERIC_ID.test(fields[2])) return Number(fields[2]);
  }
  return null;
}

/** True when the peer may see (and act on) the VM. */
export function canSee(peer: PeerCredentials, vm: VmAccess): boolean {
  if (peer.uid === 0) return true;
  if (vm.owner !== undefined && vm.owner !== null && resolveUser(vm.owner) === peer.uid) return true;
  if (vm.group !== undefined && vm.group !== null) {
    const gid = resolveGroup(vm.group);
    if (gid !== null && (peer.gid === gid || peer.groups.includes(gid))) return true;
  }
  return false;
}

/**
 * The items whose VM the peer may see. The account files are looked at once for the whole list,
 * not twice per VM (status of 200 VMs by a non-root user would stat them 800 times).
 */
export function filterVisible<T>(peer: PeerCredentials, items: Iterable<T>, accessOf: (item: T) => VmAccess): T[] {
  const all = [...items];
  if (peer.uid === 0) return all;
  dropCacheIfAccountsChanged();
  accountFilesChecked = true;
  try {
    return all.filter((item) => canSee(peer, accessOf(item)));
  } finally {
    accountFilesChecked = false;
  }
}

/**
 * May the peer run cmd (on vm, when the request names one)?
 * 'hidden' means: answer NOT_FOUND, as if the VM did not exist.
 */
export function authorize(peer: PeerCredentials, cmd: Command, vm?: VmAccess): Decision {
  if (peer.uid === 0) return 'allow';
  if (ROOT_ONLY_COMMANDS.has(cmd)) return 'forbidden';
  if (vm === undefined) return 'allow';
  return canSee(peer, vm) ? 'allow' : 'hidden';
}
