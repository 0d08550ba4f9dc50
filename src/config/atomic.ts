/** Replacing a file so that a crash leaves either the old or the new content, never a mix. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { isProcessAlive } from '../shared/process.js';

/**
 * Write `data` to `file` through a temporary file in the same directory: write, fsync, rename,
 * then fsync the directory so the rename itself is durable.
 */
export async function writeFileAtomic(file: string, data: Uint8Array, mode = 0o644): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${uniqueInProcess()}.tmp`);
  const handle = await fs.open(temp, 'wx', mode);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(dir);
  await sweepOnce(dir);
}

let tempCounter = 0;

/**
 * Unique among this process's temporary names, and (with the time) across a reused pid. Not
 * node:crypto's randomBytes: loading crypto costs every VM worker about 1 MB.
 */
function uniqueInProcess(): string {
  return `${Date.now().toString(36)}-${++tempCounter}`;
}

/** Directories this process has swept: a run dir holds ~4 files per VM, too many to list per write. */
const sweptDirectories = new Set<string>();

/**
 * Removes, on this process's first write into `dir`, the temporary files writers that died left
 * there (a crash between open and rename), whatever their target. Later writes skip the listing:
 * a writer that dies after that leaves its temporary file to the next process that writes there.
 */
async function sweepOnce(dir: string): Promise<void> {
  if (sweptDirectories.has(dir)) return;
  sweptDirectories.add(dir);
  await removeStaleTemps(dir);
}

/** `.<target>.<pid>.<unique>.tmp`, as writeFileAtomic names its temporary files. */
const TEMP_NAME = /^\..+\.(\d+)\.[^.]+\.tmp$/;

async function removeStaleTemps(dir: string): Promise<void> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.map(async (name) => {
    const pid = Number(TEMP_NAME.exec(name)?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || isProcessAlive(pid)) return;
    await fs.rm(path.join(dir, name), { force: true });
  }));
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the file's own data is already synced.
  } finally {
    await handle?.close();
  }
}
