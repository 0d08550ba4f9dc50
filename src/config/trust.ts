/**
 * The trust rule applied to what a VM config names (src/shared/trusted-path.ts): the VM's
 * directory, its config and every file it includes, the bhyve `configfile`, `scriptpath` and each
 * hook present. A failure is an error: the VM is not loaded, so it is never started with it.
 */
import path from 'node:path';
import { VM_STATES } from '../protocol/types.js';
import { checkTrustedPath } from '../shared/trusted-path.js';
import { KIND, type Position, type ProblemList } from './problems.js';

/** The kind of a trust failure: `file not trusted: writable by group`. */
export function untrustedKind(why: string): string {
  return `file not trusted: ${why}`;
}

/**
 * A directory (the VM's, `scriptpath`) that must pass the rule itself, sticky bit or not.
 * Reports an error at `at` and returns false when it fails; a missing one is the caller's to judge.
 */
export function checkTrustedDirectory(dir: string, what: string, at: Position, problems: ProblemList): boolean {
  const verdict = checkTrustedPath(dir);
  if (verdict.trusted) return true;
  problems.error(at, `${what} ${dir} is not trusted: ${verdict.reason}`, untrustedKind(verdict.why));
  return false;
}

/**
 * Each hook present in `scriptpath` must pass the rule (whether or not it is executable: its owner
 * could make it so); a trusted one that cannot be executed is surely a forgotten chmod.
 */
export function checkHookScripts(scriptpath: string, problems: ProblemList): void {
  for (const state of VM_STATES) {
    const hook = path.join(scriptpath, state);
    const at = { file: hook, line: 0, column: 0 };
    const verdict = checkTrustedPath(hook);
    if (!verdict.trusted) {
      if (!verdict.missing) problems.error(at, `hook script ${state} is not trusted: ${verdict.reason}`, untrustedKind(verdict.why));
      continue;
    }
    const executable = verdict.stat.isFile() && (verdict.stat.mode & 0o111) !== 0;
    if (!executable) problems.warn(at, `hook script ${state} is not an executable file (chmod 755 ${hook})`, KIND.hook);
  }
}
