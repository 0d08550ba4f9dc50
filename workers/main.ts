/**
 * The VM worker process: `node dist/workers/main.js <spec.json>` (see workers/api.ts).
 * Started detached by the registry (workers/spawn.ts); outlives it; exits on `release()` or, after
 * stopping its VM, on SIGTERM/SIGINT. SIGHUP reopens the VM log; SIGUSR2 makes it listen on its
 * socket again if the socket file was removed or replaced (the registry asks so when it finds
 * the worker alive, by its lock, but not on its socket).
 */
import fs from 'node:fs';
import type { Server } from 'node:net';
import { exposeOnSocketServer } from '../src/rpc/server.js';
import { tryLockFile, type FileLock } from '../src/shared/file-lock.js';
import { reportFailure, reportReady, takeReadyFd } from '../src/shared/readiness.js';
import { replaceFileSync } from '../src/shared/replace-file.js';
import { MAX_STATE_BYTES, readRegularFileSync } from '../src/shared/safe-read.js';
import type { BhyveRun, WorkerApi, WorkerRecord, WorkerSpec } from './api.js';
import { GeneratedConfigWriter, generatedConfigPath } from '../src/config/generated.js';
import { VmConsole } from './console.js';
import { serveConsole } from './console-server.js';
import { consoleSocketPath } from './console-wire.js';
import { VmLifecycle } from './lifecycle.js';
import { parseWorkerSpec } from './records.js';
import { checkRun } from './run-check.js';
import { workerFiles } from './worker-files.js';

function readSpec(file: string | undefined): WorkerSpec {
  if (!file) throw new Error('usage: node workers/main.js <spec.json>');
  return parseWorkerSpec(readRegularFileSync(file, { limit: MAX_STATE_BYTES }).toString('utf8'), file);
}

/**
 * The VM's lock, before anything else: a worker that cannot take it exits at once, without
 * touching a file of the worker that holds it (its socket, record, spec, bhyve's files).
 */
function lockVm(spec: WorkerSpec, readyFd: number | null): FileLock {
  const { lock } = workerFiles(spec.rundir, spec.vm.name);
  const attempt = tryLockFile(lock);
  if ('lock' in attempt) return attempt.lock;
  const message = `a worker for ${spec.vm.name} is already running (pid ${attempt.holder ?? 'unknown'}, holds ${lock}); this one exits without touching anything`;
  if (readyFd !== null) reportFailure(readyFd, message);
  process.stderr.write(`vmstated worker ${spec.vm.name}: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  // First: the variable must not reach the hooks and bhyve this worker starts.
  const readyFd = takeReadyFd();
  const spec = readSpec(process.argv[2]);
  const lock = lockVm(spec, readyFd);
  const files = workerFiles(spec.rundir, spec.vm.name);
  const startedAt = new Date().toISOString();
  let server: Server | null = null;
  let socketInode: number | null = null;
  let consoleServer: Server | null = null;
  let exiting = false;
  let run: BhyveRun | null = null;
  // The lifecycle's own history once it exists (an adopted bhyve is recorded while it is built).
  let restartHistory = (): number[] => spec.restartHistory ?? [];

  // Written before every bhyve start, so it carries the restart just counted (a worker that takes
  // the run over after a crash keeps counting the same window), and as the run's output is consumed.
  const writeRecord = (): void => {
    const record: WorkerRecord = { vm: spec.vm.name, workerPid: process.pid, bhyvePid: run?.bhyvePid ?? null, run, socket: files.socket, startedAt, restartHistory: restartHistory() };
    try {
      replaceFileSync(files.record, JSON.stringify(record) + '\n', 0o600);
    } catch (error) {
      process.stderr.write(`vmstated worker ${spec.vm.name}: cannot write ${files.record}: ${(error as Error).message}\n`);
    }
  };

  /** Normally once the VM is at rest; bhyve's files stay while a bhyve runs (the next worker needs them). */
  const exit = (code: number): void => {
    if (exiting) return;
    exiting = true;
    server?.close();
    vmConsole.close(`${spec.vm.name} is ${lifecycle.status().state}; its worker exits`);
    consoleServer?.close();
    const bhyveFiles = lifecycle.bhyvePid() === null ? [files.bhyveOut, files.bhyveErr, files.bhyveExit, files.keeperFifo] : [];
    for (const file of [files.socket, files.record, files.spec, files.stderr, consoleSocketPath(spec.rundir, spec.vm.name), ...bhyveFiles]) fs.rmSync(file, { force: true });
    lifecycle.log.close();
    // let the reply to release() leave before the process goes
    setTimeout(() => {
      lock.release({ remove: true });
      process.exit(code);
    }, 50);
  };

  const generatedConfig = new GeneratedConfigWriter();
  const lifecycle = new VmLifecycle(spec, {
    writeGeneratedConfig: async (vm) => {
      await generatedConfig.write(vm);
      await vmConsole.sync(generatedConfigPath(vm)); // our side of the console is open before bhyve starts
    },
    onBhyveRun: (current) => {
      run = current;
      writeRecord();
    },
    onRelease: () => exit(0),
  });
  restartHistory = () => lifecycle.restartHistory();
  // The console is opened at start for an adopted bhyve (from the config it runs with), before each launch otherwise.
  const vmConsole = new VmConsole(spec.vm.name, lifecycle.log);
  if (spec.adopt !== undefined) {
    await vmConsole.sync(generatedConfigPath(spec.vm));
    lifecycle.adopt(await checkRun(spec.vm.name, spec.rundir, spec.adopt));
  }

  // Only the WorkerApi methods are reachable over the socket.
  const api: WorkerApi = {
    status: () => lifecycle.status(),
    start: () => lifecycle.start(),
    stop: (reason) => lifecycle.stop(reason),
    restart: () => lifecycle.restart(),
    failreset: () => lifecycle.failreset(),
    updateConfig: (vm) => lifecycle.updateConfig(vm),
    reopenLog: () => lifecycle.reopenLog(),
    events: (afterSeq, waitMs) => lifecycle.events(afterSeq, waitMs),
    release: () => lifecycle.release(),
    restartHistory: () => lifecycle.restartHistory(),
  };

  consoleServer = await serveConsole(vmConsole, consoleSocketPath(spec.rundir, spec.vm.name)).catch((error: Error) => {
    lifecycle.log.line('vmstated', `console: no console socket, vmstatedctl console will not work: ${error.message}`);
    return null;
  });
  const listen = async (): Promise<void> => {
    server = await exposeOnSocketServer(api, files.socket);
    socketInode = fs.statSync(files.socket).ino;
  };
  try {
    await listen();
  } catch (error) {
    lifecycle.log.line('vmstated', `worker ${process.pid} cannot listen: ${(error as Error).message}`);
    lifecycle.log.close();
    process.stderr.write(`vmstated worker ${spec.vm.name}: ${(error as Error).message}\n`);
    process.exit(1);
  }
  writeRecord();
  if (readyFd !== null) reportReady(readyFd);

  process.on('SIGHUP', () => lifecycle.reopenLog());
  process.on('SIGUSR2', () => {
    if (exiting || fs.statSync(files.socket, { throwIfNoEntry: false })?.ino === socketInode) return;
    lifecycle.log.line('vmstated', `control socket ${files.socket} was removed or replaced: listening on it again`);
    // Closing the old server unlinks its path (libuv does); connections already made stay up.
    server?.close();
    listen().catch((error: Error) => lifecycle.log.line('vmstated', `cannot listen on ${files.socket} again: ${error.message}`));
  });
  const shutdown = (signal: string): void => {
    lifecycle.log.line('vmstated', `worker got ${signal}: stopping the VM, then exiting`);
    void lifecycle.stop('shutdown').finally(() => {
      if (!lifecycle.release()) exit(1);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('uncaughtException', (error) => {
    // Never let a bug take the worker (and with it the VM's supervision) down.
    lifecycle.log.line('vmstated', `internal error (worker keeps running): ${error.stack ?? error.message}`);
    process.stderr.write(`vmstated worker ${spec.vm.name}: ${error.stack ?? error.message}\n`);
  });
  process.on('unhandledRejection', (reason) => {
    lifecycle.log.line('vmstated', `internal error (worker keeps running): ${String(reason)}`);
  });
}

main().catch((error: Error) => {
  process.stderr.write(`vmstated worker: ${error.message}\n`);
  process.exit(1);
});
