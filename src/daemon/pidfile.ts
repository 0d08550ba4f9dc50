/** The pidfile: written atomically once the daemon serves, removed when it exits. */
import fs from 'node:fs';
import { replaceFileSync } from '../shared/replace-file.js';

/** The pid a pidfile names, or null when it is missing or does not hold a pid. */
export function readPidfile(file: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 && String(pid) === text.trim() ? pid : null;
}

/** Writes `pid\n` through a temporary file and a rename, so a reader never sees half a pidfile. */
export function writePidfile(file: string, pid = process.pid): void {
  replaceFileSync(file, `${pid}\n`, 0o644);
}

/** Removes the pidfile if it still names this process (a successor's pidfile is left alone). */
export function removePidfile(file: string, pid = process.pid): void {
  if (readPidfile(file) === pid) fs.rmSync(file, { force: true });
}
