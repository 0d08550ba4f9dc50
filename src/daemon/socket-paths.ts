/** The daemon's sockets fit in a Unix socket address: checked at start, before anything is bound. */
import { MAX_VM_NAME_LENGTH } from '../config/vm.js';
import { socketDirTooLong, socketPathTooLong } from '../shared/socket-path.js';
import { workerSocketSuffix } from '../../workers/worker-files.js';

/** Throws, with a message naming the path, its length and the limit, when one cannot fit. */
export function checkSocketPaths(options: { sockpath: string; rundir: string }): void {
  const control = socketPathTooLong(options.sockpath);
  if (control !== null) throw new Error(`the control socket (-s) ${control}`);
  const workers = socketDirTooLong(options.rundir, MAX_VM_NAME_LENGTH, workerSocketSuffix);
  if (workers !== null) throw new Error(`the run directory (-r) ${workers}`);
}
