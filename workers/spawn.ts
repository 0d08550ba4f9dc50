/** Starting a VM worker for the registry: `spawnWorker(spec)`. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { lockHolder } from '../src/shared/file-lock.js';
import { awaitReadiness, readyPipeEnv } from '../src/shared/readiness.js';
import type { WorkerSpec } from './api.js';
import { workerFiles } from './worker-files.js';

export const SPAWN_TIMEOUT_MS = 10_000;

/**
 * Write the spec to `<rundir>/<vm>.spec.json`, start the worker detached (own session, stdin and
 * stdout on /dev/null, stderr to `<rundir>/<vm>.worker.err`) and resolve once it reports on its
 * readiness pipe that its socket listens. Refused, touching nothing, while a worker holds the VM's
 * lock. Rejects when it ends first (with what it wrote on stderr), or, after killing it, when it
 * does not report within `timeoutMs`.
 */
export async function spawnWorker(spec: WorkerSpec, timeoutMs = SPAWN_TIMEOUT_MS): Promise<{ pid: number; socket: string }> {
  const files = workerFiles(spec.rundir, spec.vm.name);
  fs.mkdirSync(spec.rundir, { recursive: true, mode: 0o750 });
  const holder = await lockHolder(files.lock);
  if (holder !== undefined) throw new Error(`a worker for ${spec.vm.name} is already running (pid ${holder ?? 'unknown'}, holds ${files.lock})`);
  fs.writeFileSync(files.spec, JSON.stringify(spec), { mode: 0o600 });
  const stderr = fs.openSync(files.stderr, 'w', 0o600);
  const mainScript = fileURLToPath(new URL('./worker.cjs', import.meta.url));
  const child = spawn(process.execPath, [mainScript, files.spec], {
    detached: true,
    stdio: ['ignore', 'ignore', stderr, 'pipe'],
    env: readyPipeEnv(),
  });
  fs.closeSync(stderr);
  const readiness = await awaitReadiness(child, timeoutMs);
  child.unref();
  switch (readiness.kind) {
    case 'ready':
      return { pid: readiness.pid, socket: files.socket };
    case 'failed':
      child.kill('SIGKILL');
      throw new Error(`worker for ${spec.vm.name} failed at startup: ${readiness.error}`);
    case 'ended':
      throw new Error(`worker for ${spec.vm.name} ended at startup (${readiness.how}): ${readTrouble(files.stderr)}`);
    case 'timeout':
      child.kill('SIGKILL');
      throw new Error(`worker for ${spec.vm.name} did not report ready within ${timeoutMs} ms`);
  }
}

function readTrouble(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim() || 'no message';
  } catch {
    return 'no message';
  }
}
