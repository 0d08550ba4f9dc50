/** Replacing a small file so that a reader sees the old content or the new, never half of either. */
import fs from 'node:fs';

/**
 * Writes `data` to a temporary file beside `file`, then renames it over `file`. Synchronous, for
 * small state files (pidfile, worker record, manifest) written where awaiting is not possible or
 * not worth it. No fsync: for files that must survive a power loss use src/config/atomic.ts.
 */
export function replaceFileSync(file: string, data: string | Uint8Array, mode = 0o644): void {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, data, { mode });
  try {
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}
