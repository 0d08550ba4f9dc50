/**
 * The VM worker process: `node dist/workers/main.js <spec.json>` (see workers/api.ts).
 * Started detached by the registry (workers/spawn.ts); outlives it; exits on `release()` or, after
 * stopping its VM, on SIGTERM/SIGINT. SIGHUP reopens the VM log.
 */
import fs from 'node:fs';
import type { Server } from 'node:net';
import { exposeOnSocketServer } from '../src/rpc/server.js';
import { reportReady, takeReadyFd } from '../src/shared/readiness.js';
import { replaceFileSync } from '../src/shared/replace-file.js';
import type { WorkerApi, WorkerRecord, WorkerSpec } from './api.js';
import { GeneratedConfigWriter, generatedConfigPath } from '../src/config/generated.js';
import { VmConsole } from './console.js';
import { serveConsole } from './console-server.js';
import { consoleSocketPath } from './console-wire.js';
import { VmLifecycle } from './lifecycle.js';
import { workerFiles } from './worker-files.js';

function readSpec(file: string | undefined): WorkerSpec {
  if (!file) throw new Error('usage: node workers/main.js <spec.json>');
  const spec = JSON.parse(fs.readFileSync(file, 'utf8')) as WorkerSpec;
  if (!spec?.vm?.name || !spec.rundir || !spec.logdir || !spec.bhyve || !spec.bhyvectl) {
    throw new Error(`${file}: not a worker spec (vm.name, rundir, logdir, bhyve, bhyvectl are required)`);
  }
  return spec;
}

async function main(): Promise<void> {
  // First: the variable must not reach the hooks and bhyve this worker starts.
  const readyFd = takeReadyFd();
  const spec = readSpec(process.argv[2]);
  const files = workerFiles(spec.rundir, spec.vm.name);
  fs.mkdirSync(spec.rundir, { recursive: true });
  const startedAt = new Date().toISOString();
  let server: Server | null = null;
  let consoleServer: Server | null = null;
  let exiting = false;
  // The lifecycle's own history once it exists (an adopted bhyve is recorded while it is built).
  let restartHistory = (): number[] => spec.restartHistory ?? [];

  // Written at every bhyve launch, so it carries the restart just counted: a worker that adopts
  // this bhyve after a crash keeps counting the same window.
  const writeRecord = (bhyvePid: number | null): void => {
    const record: WorkerRecord = { vm: spec.vm.name, workerPid: process.pid, bhyvePid, socket: files.socket, startedAt, restartHistory: restartHistory() };
    try {
      replaceFileSync(files.record, JSON.stringify(record) + '\n', 0o600);
    } catch (error) {
      process.stderr.write(`vmstated worker ${spec.vm.name}: cannot write ${files.record}: ${(error as Error).message}\n`);
    }
  };

  const exit = (code: number): void => {
    if (exiting) return;
    exiting = true;
    server?.close();
    vmConsole.close(`${spec.vm.name} is ${lifecycle.status().state}; its worker exits`);
    consoleServer?.close();
    for (const file of [files.socket, files.record, files.spec, files.stderr, consoleSocketPath(spec.rundir, spec.vm.name)]) fs.rmSync(file, { force: true });
    lifecycle.log.close();
    // let the reply to release() leave before the process goes
    setTimeout(() => process.exit(code), 50);
  };

  const generatedConfig = new GeneratedConfigWriter();
  const lifecycle = new VmLifecycle(spec, {
    writeGeneratedConfig: async (vm) => {
      await generatedConfig.write(vm);
      await vmConsole.sync(generatedConfigPath(vm)); // our side of the console is open before bhyve starts
    },
    onBhyvePid: (pid) => writeRecord(pid),
    onRelease: () => exit(0),
  });
  restartHistory = () => lifecycle.restartHistory();
  // The console is opened at start for an adopted bhyve (from the config it runs with), before each launch otherwise.
  const vmConsole = new VmConsole(spec.vm.name, lifecycle.log);
  if (spec.adoptPid !== undefined) await vmConsole.sync(generatedConfigPath(spec.vm));

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
  try {
    server = await exposeOnSocketServer(api, files.socket);
  } catch (error) {
    lifecycle.log.line('vmstated', `worker ${process.pid} cannot listen: ${(error as Error).message}`);
    lifecycle.log.close();
    process.stderr.write(`vmstated worker ${spec.vm.name}: ${(error as Error).message}\n`);
    process.exit(1);
  }
  writeRecord(lifecycle.bhyvePid());
  if (readyFd !== null) reportReady(readyFd);

  process.on('SIGHUP', () => lifecycle.reopenLog());
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
