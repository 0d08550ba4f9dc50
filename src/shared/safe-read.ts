/**
 * Reading the small files vmstated is given (VM configs, bhyve configs, its own state files)
 * without ever blocking on them: a FIFO, a device or a socket is refused before it is opened, the
 * open itself is non-blocking (so a FIFO swapped in at that moment cannot wedge a reader), the
 * opened file must be the regular file that was looked at (same device and inode), and at most
 * `limit` bytes are read. Every refusal is a FileRefusal with a short reason and a kind.
 */
import fs from 'node:fs';
import { checkTrustedPath } from './trusted-path.js';

/** What vmstated reads of a config, bhyve config or hook: 1 MiB at most. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** What vmstated reads of its own state files (saved state, worker records and specs): 16 MiB at most. */
export const MAX_STATE_BYTES = 16 * 1024 * 1024;

/** Why a file was refused, in a word that is safe to show anyone (no file content in it). */
export type RefusalKind = 'file not trusted' | 'not a regular file' | 'file too large' | 'cannot read file';

export class FileRefusal extends Error {
  constructor(
    readonly file: string,
    readonly kind: RefusalKind,
    /** What follows the file name in a sentence: "is a FIFO, not a regular file". */
    readonly reason: string,
    /** For 'file not trusted': the rule it breaks, without a path ("writable by group"). */
    readonly why?: string,
    /** The errno code behind it, if any ('ENOENT': the file does not exist). */
    readonly code?: string,
  ) {
    super(`${file} ${reason}`);
    this.name = 'FileRefusal';
  }

  /** The kind, and for a file not trusted the rule it breaks: safe to show anyone. */
  get summary(): string {
    return this.why === undefined ? this.kind : `${this.kind}: ${this.why}`;
  }
}

export interface ReadOptions {
  /** Bytes at most (default MAX_CONFIG_BYTES). */
  limit?: number;
  /** Follow a symbolic link at the end of the path (default false: it is refused). */
  follow?: boolean;
}

/** Reads a regular file of at most `limit` bytes without blocking on what it turns out to be. */
export function readRegularFileSync(file: string, options: ReadOptions = {}): Buffer {
  const follow = options.follow === true;
  let stat: fs.Stats;
  try {
    stat = follow ? fs.statSync(file) : fs.lstatSync(file);
  } catch (error) {
    throw refusalOf(file, error);
  }
  return readExpected(file, stat, options.limit ?? MAX_CONFIG_BYTES, follow);
}

/**
 * Reads a file that passes the trust rule (src/shared/trusted-path.ts): its real path is opened
 * without following links, and must be the file the check saw.
 */
export function readTrustedFileSync(file: string, limit = MAX_CONFIG_BYTES): Buffer {
  const verdict = checkTrustedPath(file);
  if (!verdict.trusted) {
    if (verdict.missing) throw new FileRefusal(file, 'cannot read file', 'does not exist', undefined, 'ENOENT');
    throw new FileRefusal(file, 'file not trusted', `is not trusted: ${verdict.reason}`, verdict.why);
  }
  return readExpected(verdict.real, verdict.stat, limit, false, file);
}

/** A file type in words, for "is a FIFO, not a regular file". */
export function fileTypeOf(stat: fs.Stats): string {
  if (stat.isFile()) return 'a regular file';
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

function readExpected(file: string, expected: fs.Stats, limit: number, follow: boolean, shownAs = file): Buffer {
  if (!expected.isFile()) throw new FileRefusal(shownAs, 'not a regular file', `is ${fileTypeOf(expected)}, not a regular file`);
  if (expected.size > limit) throw tooLarge(shownAs, limit);
  const flags = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (follow ? 0 : fs.constants.O_NOFOLLOW);
  let fd: number;
  try {
    fd = fs.openSync(file, flags);
  } catch (error) {
    throw refusalOf(shownAs, error);
  }
  try {
    const opened = fs.fstatSync(fd);
    if (opened.dev !== expected.dev || opened.ino !== expected.ino) {
      throw new FileRefusal(shownAs, 'cannot read file', 'was replaced while it was being opened');
    }
    return readAtMost(fd, shownAs, limit);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads to the end, refusing the file once it holds more than `limit` bytes (it may grow meanwhile). */
function readAtMost(fd: number, file: string, limit: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, limit + 1 - total));
    let count: number;
    try {
      count = fs.readSync(fd, chunk, 0, chunk.length, null);
    } catch (error) {
      throw refusalOf(file, error);
    }
    if (count === 0) return Buffer.concat(chunks, total);
    chunks.push(chunk.subarray(0, count));
    total += count;
    if (total > limit) throw tooLarge(file, limit);
  }
}

function tooLarge(file: string, limit: number): FileRefusal {
  const size = limit % (1024 * 1024) === 0 ? `${limit / (1024 * 1024)} MiB` : `${limit} bytes`;
  return new FileRefusal(file, 'file too large', `is larger than ${size}`);
}

function refusalOf(file: string, error: unknown): FileRefusal {
  if (error instanceof FileRefusal) return error;
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return new FileRefusal(file, 'cannot read file', 'does not exist', undefined, code);
    case 'EACCES':
      return new FileRefusal(file, 'cannot read file', 'cannot be read: permission denied');
    case 'EISDIR':
      return new FileRefusal(file, 'not a regular file', 'is a directory, not a regular file');
    case 'ENOTDIR':
      return new FileRefusal(file, 'cannot read file', 'cannot be read: a component of the path is not a directory');
    // O_NOFOLLOW met a symbolic link: ELOOP on Linux, EMLINK on FreeBSD (open(2)).
    case 'ELOOP':
    case 'EMLINK':
      return new FileRefusal(file, 'not a regular file', 'is a symbolic link, not a regular file');
    default:
      return new FileRefusal(file, 'cannot read file', `cannot be read (${code ?? (error as Error).message})`);
  }
}
