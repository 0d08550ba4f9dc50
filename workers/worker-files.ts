/** The files a worker keeps in the run directory while it lives. */
import path from 'node:path';

/** What names a worker's record; the registry finds workers by it after a restart. */
export const WORKER_RECORD_SUFFIX = '.worker.json';

/** A worker's socket is `<rundir>/<vm><workerSocketSuffix>`. */
export const workerSocketSuffix = '.sock';

export function workerFiles(rundir: string, vm: string) {
  return {
    socket: path.join(rundir, `${vm}${workerSocketSuffix}`),
    record: path.join(rundir, `${vm}${WORKER_RECORD_SUFFIX}`),
    spec: path.join(rundir, `${vm}.spec.json`),
    /** The worker's stderr: its own trouble (bad spec, log write errors), readable after a crash. */
    stderr: path.join(rundir, `${vm}.worker.err`),
  };
}
