/**
 * The run and log directories (`-r`, `-l`): they hold every VM's name (sockets, records, logs),
 * which `status` hides from users who may not see a VM, so they are 0750, root:wheel (gid 0).
 * One that does not exist is made so; one of ours with a wider mode is narrowed; one that is
 * not ours, or that others could write into (and so have planted files in), is refused.
 */
import fs from 'node:fs';
import { untrustedBecause } from '../shared/trusted-path.js';

export const PRIVATE_DIR_MODE = 0o750;

/** Makes `dir` a private directory of ours, or throws with a message for a person. */
export function preparePrivateDirectory(dir: string, what: string): void {
  const uid = process.geteuid?.() ?? 0;
  let stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (stat === undefined) {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
      if (uid === 0) fs.chownSync(dir, 0, 0);
    } catch (err) {
      throw new Error(`cannot create the ${what} ${dir}: ${(err as Error).message}`);
    }
    stat = fs.statSync(dir);
  }
  if (!stat.isDirectory()) throw new Error(`the ${what} ${dir} is not a directory`);
  const why = untrustedBecause(stat, [uid]);
  if (why !== null) {
    throw new Error(`refusing the ${what} ${dir}: it is ${why} (it must be vmstated's, uid ${uid}, ` +
      `and writable by nobody else; fix it with: chown ${uid}:0 ${dir}; chmod 750 ${dir})`);
  }
  if ((stat.mode & 0o777 & ~PRIVATE_DIR_MODE) !== 0) fs.chmodSync(dir, stat.mode & PRIVATE_DIR_MODE);
}
