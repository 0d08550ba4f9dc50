/**
 * Benchmark (not a test): what one running VM's worker costs beside a bare Node process.
 * Run: node dist/test/bench/worker-memory.js [--vms 3,20] [--settle-seconds S] [--node-options OPTS]
 *
 * For each count of VMs: vmstated with the bhyve simulator starts them all, lets them run for
 * --settle-seconds (12 by default: V8 gives back part of what start-up took after ~10 s), then reads each worker's PSS, private and anonymous memory and
 * threads from /proc, and the same of a bare `node -e 'setInterval(() => {}, 1e3)'` started with
 * the daemon, in the same environment (service(8)'s). The ratio worker / bare node is the target
 * (<= 1.15 for private memory). --node-options sets NODE_OPTIONS for the daemon and its workers
 * only (to try V8 flags); the bare process never gets it.
 */
import os from 'node:os';
import type { VmStatus } from '../../src/protocol/types.js';
import { createVmstatedEnv, waitFor } from '../helpers/vmstated-env.js';
import { numberOption, stringOption } from './options.js';
import { meanMemory, processMemory, serviceEnvironment, spawnBareNode, type ProcessMemory } from './measure.js';

const counts = (stringOption('vms') ?? '3,20').split(',').map(Number);
if (counts.some((count) => !Number.isInteger(count) || count <= 0)) throw new Error('--vms needs positive integers, comma-separated');
const settleMs = numberOption('settle-seconds', 12) * 1000;
const nodeOptions = stringOption('node-options');

const MB = 1024;

async function measure(vmCount: number): Promise<{ worker: ProcessMemory; bare: ProcessMemory; daemon: ProcessMemory | null }> {
  const env = createVmstatedEnv('vmstated-bench-');
  env.env = serviceEnvironment({ BHYVE_SIM_DIR: env.env.BHYVE_SIM_DIR, ...(nodeOptions === undefined ? {} : { NODE_OPTIONS: nodeOptions }) });
  const bare = spawnBareNode();
  try {
    const names = Array.from({ length: vmCount }, (_, i) => `vm${String(i).padStart(4, '0')}`);
    for (const name of names) env.writeVm(name);
    const daemonPid = await env.startDaemon();
    const client = await env.client();
    try {
      await Promise.all(names.map((vm) => client.request('start', { vm }, { timeoutMs: 120_000 })));
      const statuses = await waitFor('every VM to run', async () => {
        const list = await client.request<VmStatus[]>('status');
        return list.every((s) => s.state === 'running' && s.workerPid !== null) ? list : undefined;
      }, 60_000);
      await new Promise((resolve) => setTimeout(resolve, settleMs));
      const worker = meanMemory(statuses.map((s) => processMemory(s.workerPid!)));
      const bareMemory = processMemory(bare.pid!);
      if (worker === null || bareMemory === null) throw new Error('no /proc/<pid>/smaps_rollup here: this bench needs Linux');
      return { worker, bare: bareMemory, daemon: processMemory(daemonPid) };
    } finally {
      client.close();
    }
  } finally {
    bare.kill('SIGKILL');
    await env.destroy();
  }
}

const results: Array<Record<string, number | string | null>> = [];
console.log(`worker memory bench: ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}${nodeOptions === undefined ? '' : `, NODE_OPTIONS=${nodeOptions}`}`);
console.log(`${'VMs'.padStart(4)}  ${'process'.padEnd(14)}  ${'PSS MB'.padStart(7)}  ${'private MB'.padStart(10)}  ${'anon MB'.padStart(7)}  ${'threads'.padStart(7)}`);
const row = (vms: number | string, what: string, m: ProcessMemory): string =>
  `${String(vms).padStart(4)}  ${what.padEnd(14)}  ${(m.pssKiB / MB).toFixed(2).padStart(7)}  ${(m.privateKiB / MB).toFixed(2).padStart(10)}  ${(m.anonymousKiB / MB).toFixed(2).padStart(7)}  ${m.threads.toFixed(1).padStart(7)}`;
for (const vmCount of counts) {
  const { worker, bare, daemon } = await measure(vmCount);
  const privateRatio = worker.privateKiB / bare.privateKiB;
  const pssRatio = worker.pssKiB / bare.pssKiB;
  console.log(row(vmCount, 'worker (mean)', worker));
  console.log(row('', 'bare node', bare));
  if (daemon !== null) console.log(row('', 'daemon', daemon));
  console.log(`${''.padStart(4)}  worker / bare node: private ${privateRatio.toFixed(2)}x (target <= 1.15), PSS ${pssRatio.toFixed(2)}x`);
  results.push({
    vms: vmCount,
    workerPssMB: Number((worker.pssKiB / MB).toFixed(2)),
    workerPrivateMB: Number((worker.privateKiB / MB).toFixed(2)),
    workerAnonMB: Number((worker.anonymousKiB / MB).toFixed(2)),
    workerThreads: worker.threads,
    bareNodePssMB: Number((bare.pssKiB / MB).toFixed(2)),
    bareNodePrivateMB: Number((bare.privateKiB / MB).toFixed(2)),
    bareNodeAnonMB: Number((bare.anonymousKiB / MB).toFixed(2)),
    bareNodeThreads: bare.threads,
    privateRatio: Number(privateRatio.toFixed(3)),
    pssRatio: Number(pssRatio.toFixed(3)),
  });
}
console.log(JSON.stringify({ bench: 'worker-memory', nodeOptions: nodeOptions ?? null, results }));
