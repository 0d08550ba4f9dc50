/**
 * Who is on the other end of a Unix socket, as the kernel recorded it when
 * the peer connected (DESIGN.md section 6, Authorization).
 *
 * Linux: SO_PEERCRED gives pid, uid and gid; SO_PEERGROUPS (Linux >= 4.13)
 * gives the supplementary groups the peer had at connect(). Those are the
 * peer's real credentials: `setpriv --groups` or `newgrp` is reflected, unlike
 * the user database (getgrouplist), which says what the user would get at
 * login. On older kernels `/proc/<pid>/status` (Groups:) is read instead.
 *
 * FreeBSD: LOCAL_PEERCRED fills a struct xucred: the effective uid and up to
 * XU_NGROUPS (16) groups, cr_groups[0] being the effective gid (groups past
 * 16 are not reported by the kernel), and the pid on FreeBSD >= 13.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { endianness } from 'node:os';
import { libc } from './libc.js';

export interface PeerCredentials {
  uid: number;
  /** The effective gid. */
  gid: number;
  /** Supplementary groups (may include gid). */
  groups: number[];
  /** The peer's pid when the kernel tells it. */
  pid?: number;
}

export class PeerCredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeerCredentialsError';
  }
}

// Linux. SOL_SOCKET and SO_PEERCRED are 1 and 17 on x86, arm, arm64, riscv,
// loongarch and s390; powerpc numbers SO_PEERCRED 21. (mips, sparc, alpha and
// parisc differ more; Node does not ship builds for them.)
const LINUX_SOL_SOCKET = 1;
const LINUX_SO_PEERCRED = process.arch === 'ppc64' || process.arch === 'ppc' ? 21 : 17;
const LINUX_SO_PEERGROUPS = 59;
const LINUX_ERANGE = 34;
const LINUX_ENOPROTOOPT = 92;
const UCRED_BYTES = 12; // struct ucred { pid_t pid; uid_t uid; gid_t gid; }

// FreeBSD.
const FREEBSD_SOL_LOCAL = 0;
const FREEBSD_LOCAL_PEERCRED = 1;
const XUCRED_VERSION = 0;
const XU_NGROUPS = 16;
// struct xucred { u_int cr_version; uid_t cr_uid; short cr_ngroups; gid_t cr_groups[16]; union { void *; pid_t cr_pid; } }
const XUCRED_UID = 4;
const XUCRED_NGROUPS = 8;
const XUCRED_GROUPS = 12;
const XUCRED_PID = 80;
const XUCRED_BYTES = 88;

// The kernel fills these structs in the machine's byte order.
const LITTLE_ENDIAN = endianness() === 'LE';
const u32 = (b: Buffer, at: number): number => (LITTLE_ENDIAN ? b.readUInt32LE(at) : b.readUInt32BE(at));
const i32 = (b: Buffer, at: number): number => (LITTLE_ENDIAN ? b.readInt32LE(at) : b.readInt32BE(at));
const i16 = (b: Buffer, at: number): number => (LITTLE_ENDIAN ? b.readInt16LE(at) : b.readInt16BE(at));

/**
 * The descriptor behind a net.Socket. Node exposes no public accessor, but
 * getsockopt needs the fd: `_handle` (a libuv Pipe wrap) carries it as `fd` on
 * Unix. Kept in this one place so a Node change breaks one line, loudly.
 */
function socketFd(socket: Socket): number {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new PeerCredentialsError('cannot read peer credentials: the socket has no file descriptor (closed?)');
  }
  return fd;
}

export function getPeerCredentials(socket: Socket): PeerCredentials {
  const fd = socketFd(socket);
  return libc().platform === 'freebsd' ? freebsdPeerCredentials(fd) : linuxPeerCredentials(fd);
}

function sockoptFailure(what: string, errno: number): PeerCredentialsError {
  return new PeerCredentialsError(`cannot read peer credentials: getsockopt(${what}) failed with errno ${errno}`);
}

function linuxPeerCredentials(fd: number): PeerCredentials {
  const c = libc();
  const ucred = Buffer.alloc(UCRED_BYTES);
  const length = [UCRED_BYTES];
  if (c.getsockopt(fd, LINUX_SOL_SOCKET, LINUX_SO_PEERCRED, ucred, length) !== 0) {
    throw sockoptFailure('SO_PEERCRED', c.errno());
  }
  const pid = i32(ucred, 0);
  const uid = u32(ucred, 4);
  const gid = u32(ucred, 8);
  return { uid, gid, groups: linuxPeerGroups(fd, pid), ...(pid > 0 ? { pid } : {}) };
}

function linuxPeerGroups(fd: number, pid: number): number[] {
  const c = libc();
  let capacity = 64;
  for (;;) {
    const buffer = Buffer.alloc(capacity * 4);
    const length = [buffer.length];
    if (c.getsockopt(fd, LINUX_SOL_SOCKET, LINUX_SO_PEERGROUPS, buffer, length) === 0) {
      const groups: number[] = [];
      for (let offset = 0; offset + 4 <= length[0]; offset += 4) groups.push(u32(buffer, offset));
      return groups;
    }
    const errno = c.errno();
    if (errno === LINUX_ERANGE && length[0] > buffer.length) {
      capacity = Math.ceil(length[0] / 4);
      continue;
    }
    if (errno === LINUX_ENOPROTOOPT && pid > 0) return procStatusGroups(pid);
    throw sockoptFailure('SO_PEERGROUPS', errno);
  }
}

/** Fallback for kernels without SO_PEERGROUPS: the peer's groups now, read from /proc. */
function procStatusGroups(pid: number): number[] {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (error) {
    throw new PeerCredentialsError(`cannot read the peer's groups from /proc/${pid}/status: ${(error as Error).message}`);
  }
  return parseProcStatusGroups(status);
}

/** The `Groups:` line of /proc/<pid>/status as numbers. */
export function parseProcStatusGroups(status: string): number[] {
  const line = status.split('\n').find((l) => l.startsWith('Groups:'));
  if (line === undefined) return [];
  return line
    .slice('Groups:'.length)
    .trim()
    .split(/\s+/)
    .filter((field) => field !== '')
    .map(Number);
}

function freebsdPeerCredentials(fd: number): PeerCredentials {
  const c = libc();
  const xucred = Buffer.alloc(XUCRED_BYTES);
  const length = [XUCRED_BYTES];
  if (c.getsockopt(fd, FREEBSD_SOL_LOCAL, FREEBSD_LOCAL_PEERCRED, xucred, length) !== 0) {
    throw sockoptFailure('LOCAL_PEERCRED', c.errno());
  }
  return parseXucred(xucred.subarray(0, length[0]));
}

/** Decodes a FreeBSD struct xucred (exported for tests on other systems). */
export function parseXucred(xucred: Buffer): PeerCredentials {
  if (xucred.length < XUCRED_GROUPS + 4) {
    throw new PeerCredentialsError(`cannot read peer credentials: struct xucred too short (${xucred.length} bytes)`);
  }
  const version = u32(xucred, 0);
  if (version !== XUCRED_VERSION) {
    throw new PeerCredentialsError(`cannot read peer credentials: unknown struct xucred version ${version}`);
  }
  const uid = u32(xucred, XUCRED_UID);
  const ngroups = Math.min(i16(xucred, XUCRED_NGROUPS), XU_NGROUPS);
  if (ngroups < 1) throw new PeerCredentialsError('cannot read peer credentials: struct xucred has no groups');
  const groups: number[] = [];
  for (let i = 0; i < ngroups && XUCRED_GROUPS + 4 * (i + 1) <= xucred.length; i++) {
    groups.push(u32(xucred, XUCRED_GROUPS + 4 * i));
  }
  const gid = groups[0];
  const pid = xucred.length >= XUCRED_PID + 4 ? i32(xucred, XUCRED_PID) : 0;
  return { uid, gid, groups: groups.slice(1), ...(pid > 0 ? { pid } : {}) };
}
