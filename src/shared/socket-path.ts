/**
 * How long a Unix socket's path may be. FreeBSD's struct sockaddr_un has `char sun_path[104]`
 * (sys/sys/un.h); the C library and libuv (Node's sockets) copy the path with its terminating
 * NUL, so at most 103 bytes fit. Linux has 108, but the same limit applies everywhere: what
 * works on a Linux test box must work on the FreeBSD host. A longer path fails at bind time, or
 * is cut short, with an error that does not name it.
 */
import path from 'node:path';

export const SUN_PATH_BYTES = 104;
export const MAX_SOCKET_PATH_BYTES = SUN_PATH_BYTES - 1;

/** Why `file` cannot be a Unix socket's path (too long), or null when it can. */
export function socketPathTooLong(file: string): string | null {
  const bytes = Buffer.byteLength(file);
  if (bytes <= MAX_SOCKET_PATH_BYTES) return null;
  return `${file} is ${bytes} bytes long; a Unix socket path may have at most ${MAX_SOCKET_PATH_BYTES} ` +
    `(FreeBSD's sun_path holds ${SUN_PATH_BYTES} bytes, the final NUL included)`;
}

/**
 * Why `dir` cannot hold sockets named `<name><suffix>` for every name up to `longestName`
 * characters (ASCII, as VM names are), or null when it can.
 */
export function socketDirTooLong(dir: string, longestName: number, suffix: string): string | null {
  const longest = path.join(dir, `${'n'.repeat(longestName)}${suffix}`);
  const bytes = Buffer.byteLength(longest);
  if (bytes <= MAX_SOCKET_PATH_BYTES) return null;
  return `${dir} is too long for the sockets in it: ${path.join(dir, `<${longestName}-character name>${suffix}`)} ` +
    `would be ${bytes} bytes long; a Unix socket path may have at most ${MAX_SOCKET_PATH_BYTES} ` +
    `(FreeBSD's sun_path holds ${SUN_PATH_BYTES} bytes, the final NUL included)`;
}
