/**
 * Replacing a file so that a crash leaves either the old or the new content, never a mix: a fresh
 * temporary file beside it (O_CREAT|O_EXCL|O_NOFOLLOW: never an existing file or a link planted
 * under its name), written, fsynced, given its mode, renamed over the target, then the directory
 * fsynced so the rename itself is durable.
 */
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { inTrustedDirectory, trustedDirectory } from '../shared/pinned-directory.js';
import { isProcessAlive } from '../shared/process.js';

/** How the file's data reaches the disk: through libuv's thread pool, or on this thread. */
interface FileIo {
  write(fd: number, data: Uint8Array, from: number): Promise<number> | number;
  fsync(fd: number): Promise<void> | void;
  close(fd: number): Promise<void> | void;
}

/** For the daemon: an fsync does not hold up the event loop that serves every client. */
const THREAD_POOL_IO: FileIo = {
  write: (fd, data, from) => new Promise((resolve, reject) => {
    fs.write(fd, data, from, data.length - from, null, (err, written) => (err ? reject(err) : resolve(written)));
  }),
  fsync: promisify(fs.fsync),
  close: promisify(fs.close),
};

/**
 * For a VM worker: the few writes of a small file per launch wait on this thread instead of
 * starting libuv's pool, four threads a resident worker would keep for its whole life.
 */
const INLINE_IO: FileIo = {
  write: (fd, data, from) => fs.writeSync(fd, data, from, data.length - from),
  fsync: (fd) => fs.fsyncSync(fd),
  close: (fd) => fs.closeSync(fd),
};

const CREATE_NEW = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;

/** Where the names go: `run` gives each operation a way to turn a name into the path to use. */
interface Place {
  /** The directory, as a key for the sweep and for messages. */
  key: string;
  run<T>(work: (at: (name: string) => string) => T): T;
}

/** Write `data` to `file` (in a directory of ours, such as the run directory) with `mode`. */
export async function writeFileAtomic(file: string, data: Uint8Array, mode = 0o644): Promise<void> {
  const dir = path.dirname(file);
  const place: Place = { key: dir, run: (work) => work((name) => path.join(dir, name)) };
  await replaceIn(place, path.basename(file), data, mode, THREAD_POOL_IO);
}

/**
 * Write `data` to `file`, mode 0600, in a directory that must pass the trust rule
 * (src/shared/trusted-path.ts): `<configfile>.generated` beside a bhyve config. Every name is
 * created, renamed and removed in the directory that was checked, whatever happens to its path
 * meanwhile (src/shared/pinned-directory.ts); throws, saying why, when it does not pass.
 */
export async function writeFileInTrustedDirectory(file: string, data: Uint8Array): Promise<void> {
  const dir = trustedDirectory(path.dirname(file));
  const place: Place = { key: dir.real, run: (work) => inTrustedDirectory(dir, () => work((name) => name)) };
  await replaceIn(place, path.basename(file), data, 0o600, INLINE_IO);
}

async function replaceIn(place: Place, name: string, data: Uint8Array, mode: number, io: FileIo): Promise<void> {
  const temp = tempName(name);
  const fd = place.run((at) => fs.openSync(at(temp), CREATE_NEW, mode));
  try {
    fs.fchmodSync(fd, mode); // never what the umask made of it
    for (let done = 0; done < data.length; ) done += await io.write(fd, data, done);
    await io.fsync(fd);
  } catch (err) {
    await closeQuietly(io, fd);
    place.run((at) => fs.rmSync(at(temp), { force: true }));
    throw err;
  }
  await io.close(fd);
  try {
    place.run((at) => fs.renameSync(at(temp), at(name)));
  } catch (err) {
    place.run((at) => fs.rmSync(at(temp), { force: true }));
    throw err;
  }
  await syncDirectory(place, io);
  sweepOnce(place);
}

let tempCounter = 0;

/**
 * `.<target>.<pid>.<time>-<n>.tmp`: unique among this process's temporary names, and (with the
 * time) across a reused pid. Not node:crypto's randomBytes: loading crypto costs every VM worker
 * about 1 MB.
 */
function tempName(target: string): string {
  return `.${target}.${process.pid}.${Date.now().toString(36)}-${++tempCounter}.tmp`;
}

/** Exactly the names tempName() makes; the pid is the writer's. */
const TEMP_NAME = /^\..+\.([1-9]\d*)\.[0-9a-z]+-[1-9]\d*\.tmp$/;

/** Directories this process has swept: a run dir holds ~4 files per VM, too many to list per write. */
const sweptDirectories = new Set<string>();

/**
 * Removes, on this process's first write into a directory, the temporary files writers that died
 * left there (a crash between open and rename), whatever their target. Only files vmstated made:
 * named as tempName() names them, regular files, owned by this uid, and their writer is gone.
 * Later writes skip the listing: a writer that dies after that leaves its temporary file to the
 * next process that writes there.
 */
function sweepOnce(place: Place): void {
  if (sweptDirectories.has(place.key)) return;
  sweptDirectories.add(place.key);
  const uid = process.geteuid?.() ?? 0;
  try {
    place.run((at) => {
      for (const name of fs.readdirSync(at('.'))) {
        const pid = Number(TEMP_NAME.exec(name)?.[1]);
        if (!Number.isSafeInteger(pid) || isProcessAlive(pid)) continue;
        const stat = fs.lstatSync(at(name), { throwIfNoEntry: false });
        if (stat?.isFile() && stat.uid === uid) fs.rmSync(at(name), { force: true });
      }
    });
  } catch {
    // A sweep is housekeeping: the write it follows succeeded.
  }
}

/** Closes `fd` on a path that already failed or whose result no longer matters. */
async function closeQuietly(io: FileIo, fd: number): Promise<void> {
  try {
    await io.close(fd);
  } catch {
    // The error that matters is the one already on its way.
  }
}

async function syncDirectory(place: Place, io: FileIo): Promise<void> {
  let fd: number | undefined;
  try {
    fd = place.run((at) => fs.openSync(at('.'), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY));
    await io.fsync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the file's own data is already synced.
  } finally {
    if (fd !== undefined) await closeQuietly(io, fd);
  }
}
