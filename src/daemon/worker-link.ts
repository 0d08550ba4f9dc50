/**
 * The registry's only contact with the worker modules: spawn a worker, or connect to a running
 * one. Everything else in src/daemon sees a WorkerLink.
 */
import os from 'node:os';
import type { WorkerApi, WorkerSpec } from '../../workers/api.js';
import type { RemoteConnection } from '../rpc/client.js';

export type WorkerLink = RemoteConnection<WorkerApi>;

/** How long a worker's socket may take to answer a connect. */
export const CONNECT_TIMEOUT_MS = 5000;

export async function connectToWorker(socketPath: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<WorkerLink> {
  const { connectWorker } = await import('../rpc/client.js');
  return connectWorker(socketPath, timeoutMs);
}

/**
 * A worker's start-up is CPU-bound (a new Node process): hundreds started at once on a small host
 * each miss the spawn answer timeout. A few at a time keeps every start-up within it.
 */
const SPAWN_PARALLEL = Math.max(2, 2 * os.availableParallelism());
let spawning = 0;
const spawnWaiters: Array<() => void> = [];

async function withSpawnSlot<T>(run: () => Promise<T>): Promise<T> {
  while (spawning >= SPAWN_PARALLEL) await new Promise<void>((resolve) => spawnWaiters.push(resolve));
  spawning += 1;
  try {
    return await run();
  } finally {
    spawning -= 1;
    spawnWaiters.shift()?.();
  }
}

/** Spawns a detached worker for `spec.vm` and connects to it. */
export async function launchWorker(spec: WorkerSpec): Promise<{ pid: number; link: WorkerLink }> {
  const { spawnWorker } = await import('../../workers/spawn.js');
  const { pid, socket } = await withSpawnSlot(() => spawnWorker(spec));
  return { pid, link: await connectToWorker(socket) };
}
