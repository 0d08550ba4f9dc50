/**
 * The few libc functions authorization needs, loaded once through koffi.
 * Node has no API for peer credentials or the user database (NSS), so we call
 * libc directly. Linux (glibc) and FreeBSD are supported; anything else gets a
 * clear error instead of a wrong answer.
 */
import koffi from 'koffi';

type Pointer = bigint | null;

export interface Libc {
  platform: 'linux' | 'freebsd';
  /** int getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen); optlen is a one-element in/out array. */
  getsockopt(fd: number, level: number, optname: number, optval: Buffer, optlen: number[]): number;
  /** struct passwd *getpwnam(const char *), NULL when there is no such user. */
  getpwnam(name: string): Pointer;
  /** struct group *getgrnam(const char *), NULL when there is no such group. */
  getgrnam(name: string): Pointer;
  /** The uid in a struct passwd (same leading layout on Linux and FreeBSD). */
  passwdUid(entry: bigint): number;
  /** The gid in a struct group (same leading layout on Linux and FreeBSD). */
  groupGid(entry: bigint): number;
  errno(): number;
}

const LIBC_NAMES: Record<string, string> = { linux: 'libc.so.6', freebsd: 'libc.so.7' };

// Only the leading members are declared: they are laid out the same on Linux
// and FreeBSD, and nothing after them is read.
const PasswdHead = koffi.struct('vmstated_passwd_head', {
  pw_name: 'char *',
  pw_passwd: 'char *',
  pw_uid: 'uint32_t',
  pw_gid: 'uint32_t',
});
const GroupHead = koffi.struct('vmstated_group_head', {
  gr_name: 'char *',
  gr_passwd: 'char *',
  gr_gid: 'uint32_t',
});

let cached: Libc | null = null;

export function libc(): Libc {
  if (cached !== null) return cached;
  const platform = process.platform;
  if (platform !== 'linux' && platform !== 'freebsd') {
    throw new Error(`peer credentials are not supported on ${platform} (only Linux and FreeBSD)`);
  }
  const lib = koffi.load(LIBC_NAMES[platform]);
  const getsockopt = lib.func('int getsockopt(int fd, int level, int optname, void *optval, _Inout_ uint32_t *optlen)');
  const getpwnam = lib.func('getpwnam', 'void *', ['str']);
  const getgrnam = lib.func('getgrnam', 'void *', ['str']);
  cached = {
    platform,
    getsockopt: (fd, level, optname, optval, optlen) => getsockopt(fd, level, optname, optval, optlen) as number,
    getpwnam: (name) => getpwnam(name) as Pointer,
    getgrnam: (name) => getgrnam(name) as Pointer,
    passwdUid: (entry) => (koffi.decode(entry, PasswdHead) as { pw_uid: number }).pw_uid,
    groupGid: (entry) => (koffi.decode(entry, GroupHead) as { gr_gid: number }).gr_gid,
    errno: () => koffi.errno(),
  };
  return cached;
}
