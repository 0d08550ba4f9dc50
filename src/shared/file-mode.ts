/** Narrowing the mode of vmstated's own files. */
import fs from 'node:fs';

/** The daemon's and the VMs' logs: root's to write, wheel's to read (every VM's name is in them). */
export const LOG_FILE_MODE = 0o640;

/** Narrows the mode of a file of ours (a log an older version created 0644) to at most `mode`. */
export function narrowFileMode(file: string, mode: number): void {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (stat === undefined || stat.uid !== (process.geteuid?.() ?? 0)) return;
  if ((stat.mode & 0o777 & ~mode) !== 0) fs.chmodSync(file, stat.mode & mode);
}
