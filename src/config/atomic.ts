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
  await removeStaleTemps(dir, path.basename(file));
}

let tempCounter = 0;

/**
 * Unique among this process's temporary names, and (with the time) across a reused pid. Not
 * node:crypto's randomBytes: loading crypto costs every VM worker about 1 MB.
 */
function uniqueInProcess(): string {
  return `${Date.now().toString(36)}-${++tempCounter}`;
}

/** Temporary files of this target left by a writer that died (a crash between open and rename). */
async function removeStaleTemps(dir: string, base: string): Promise<void> {
  const prefix = `.${base}.`;
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.map(async (name) => {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) return;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
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
