/** The files a worker keeps in the run directory while it lives. */
import path from 'node:path';

/** What names a worker's record; the registry finds workers by it after a restart. */
export const WORKER_RECORD_SUFFIX = '.worker.json';

/** A worker's socket is `<rundir>/<vm><workerSocketSuffix>`. */
export const workerSocketSuffix = '.sock';

export function workerFiles(rundir: string, vm: string) {
  const file = (suffix: string): string => path.join(rundir, `${vm}${suffix}`);
  return {
    socket: file(workerSocketSuffix),
    record: file(WORKER_RECORD_SUFFIX),
    spec: file('.spec.json'),
    /** The worker's stderr: its own trouble (bad spec, log write errors), readable after a crash. */
    stderr: file('.worker.err'),
    /**
     * Held (flock) by the VM's one worker for its whole life; holds its pid (src/shared/file-lock.ts).
     * Not `<vm>.lock`: a VM may be named `vmstated`, and `vmstated.lock` is the daemon's.
     */
    lock: file('.worker.lock'),
    /** bhyve's standard output and error, which the worker follows into the VM log (workers/bhyve-output.ts). */
    bhyveOut: file('.bhyve.out'),
    bhyveErr: file('.bhyve.err'),
    /** `<keeper pid> <bhyve's exit status>`, written by bhyve's keeper when bhyve has exited (workers/keeper.ts). */
    bhyveExit: file('.bhyve.exit'),
    /** The FIFO bhyve's keeper and bhyve hold open: end of file on it says both are gone. */
    keeperFifo: file('.keeper'),
  };
}

export type WorkerFiles = ReturnType<typeof workerFiles>;
