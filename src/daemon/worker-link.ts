/**
 * The registry's only contact with the worker modules: spawn a worker, or connect to a running
 * one. Everything else in src/daemon sees a WorkerLink.
 */
import type { WorkerApi, WorkerSpec } from '../../workers/api.js';
import type { RemoteConnection } from '../rpc/client.js';

export type WorkerLink = RemoteConnection<WorkerApi>;

/** How long a worker's socket may take to answer a connect. */
export const CONNECT_TIMEOUT_MS = 5000;

export async function connectToWorker(socketPath: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<WorkerLink> {
  const { connectWorker } = await import('../rpc/client.js');
  return connectWorker(socketPath, timeoutMs);
}

/** Spawns a detached worker for `spec.vm` and connects to it. */
export async function launchWorker(spec: WorkerSpec): Promise<{ pid: number; link: WorkerLink }> {
  const { spawnWorker } = await import('../../workers/spawn.js');
  const { pid, socket } = await spawnWorker(spec);
  return { pid, link: await connectToWorker(socket) };
}
