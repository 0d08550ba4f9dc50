/**
 * Children started in a process group of their own (`spawn(..., { detached: true })`), so that
 * killing the group at a timeout kills whatever they started too: a wrapper script's `sleep`
 * would otherwise run on, orphaned.
 */
import type { ChildProcess } from 'node:child_process';

/** Sends `signal` to the child's whole process group; an empty group is no error. */
export function killProcessGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is already empty
  }
}
