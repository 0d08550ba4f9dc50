/** Whether a process still exists, as everything that watches pids here (daemon, workers, tests) asks it. */
import fs from 'node:fs';

/**
 * True while the process exists and is not a zombie. EPERM means it exists but is someone else's.
 * A zombie counts as gone: its parent (init, once we are not it) has yet to reap it, which in some
 * containers never happens.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

/** Linux shows it in /proc/<pid>/stat; FreeBSD has no /proc by default and its init reaps at once. */
function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}
