/**
 * Helpers for the fault and load tests: many VMs in one vmstated test env, the simulated bhyves
 * that really run (from ps), a seeded random source and a recorder of the daemon's events.
 */
import { spawnSync } from 'node:child_process';
import { listVmmRecords, readVmmRecord } from '../../src/bhyvesim/record.js';
import { parseProcessTable, type ProcessEntry } from '../../src/shared/process-table.js';
import type { ControlClient } from '../../src/protocol/client.js';
import type { VmEvent, VmStatus } from '../../src/protocol/types.js';
import type { VmstatedEnv } from '../helpers/vmstated-env.js';

/** `count` VM names, vm00, vm01, ... */
export function vmNames(count: number, prefix = 'vm'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`);
}

/**
 * Running simulated bhyves of this env by VM name. A bhyve shows its title (`bhyve: vm00`, as real
 * bhyve's setproctitle does), so it is told apart from another env's by its ancestry (a worker, or
 * early in its start the bhyve itself, names this env's directory on its command line) or, once its
 * worker died, by the pid this env's simulated vmm record holds.
 */
export function bhyvesByVm(env: VmstatedEnv): Map<string, number[]> {
  const ps = spawnSync('ps', ['-ax', '-ww', '-o', 'pid=', '-o', 'ppid=', '-o', 'lstart=', '-o', 'args='], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  if (ps.status !== 0) throw new Error(`ps failed: ${ps.stderr}`);
  const table = parseProcessTable(ps.stdout);
  const byPid = new Map(table.map((entry) => [entry.pid, entry]));
  const inThisEnv = (entry: ProcessEntry | undefined, depth = 0): boolean =>
    entry !== undefined && depth < 8 && (entry.args.includes(env.dir) || inThisEnv(byPid.get(entry.ppid), depth + 1));
  const recorded = new Set(listVmmRecords(env.simdir).map((name) => readVmmRecord(name, env.simdir)?.pid));
  const byVm = new Map<string, number[]>();
  for (const entry of table) {
    const words = entry.args.split(/\s+/);
    const simulator = words.slice(0, 2).some((word) => word.endsWith('/bhyve-sim.js'));
    const vm = /^bhyve: (\S+)$/.exec(entry.args)?.[1] ?? (simulator ? words[words.length - 1] : undefined);
    if (vm === undefined || !(inThisEnv(entry) || recorded.has(entry.pid))) continue;
    byVm.set(vm, [...(byVm.get(vm) ?? []), entry.pid]);
  }
  return byVm;
}

/** VM names that have more than one bhyve running now. */
export function doubledVms(env: VmstatedEnv): string[] {
  return [...bhyvesByVm(env)].filter(([, pids]) => pids.length > 1).map(([vm, pids]) => `${vm}: ${pids.join(' ')}`);
}

/** Simulated /dev/vmm records of this env. */
export function vmmRecords(env: VmstatedEnv): string[] {
  return listVmmRecords(env.simdir).sort();
}

export async function statusAll(client: ControlClient): Promise<VmStatus[]> {
  return client.request<VmStatus[]>('status', {}, { timeoutMs: 30_000 });
}

/** Starts every VM with one request each, all at once; fails unless each reply is ok. */
export async function startAll(client: ControlClient, names: readonly string[]): Promise<void> {
  await Promise.all(names.map((vm) => client.request('start', { vm }, { timeoutMs: 120_000 })));
}

/** Collects every event of the daemon's stream on `client` (which it takes over). */
export function recordEvents(client: ControlClient): VmEvent[] {
  const events: VmEvent[] = [];
  void client.events((event) => events.push(event)).catch(() => {});
  return events;
}

/**
 * Launch/exit pairs per VM from the event stream: a VM whose bhyve was launched again before the
 * previous one's exit was seen had two bhyves at once. Returns a description of each such VM.
 */
export function overlappingLaunches(events: readonly VmEvent[]): string[] {
  const live = new Map<string, number>();
  const problems: string[] = [];
  for (const event of events) {
    if (event.type === 'launch') {
      const previous = live.get(event.vm);
      if (previous !== undefined) problems.push(`${event.vm}: bhyve ${event.pid} launched while ${previous} ran`);
      live.set(event.vm, event.pid);
    } else if (event.type === 'exit' && live.get(event.vm) === event.pid) {
      live.delete(event.vm);
    }
  }
  return problems;
}

export { isProcessAlive as isAlive } from '../../src/shared/process.js';
export { seededRandom } from '../helpers/random.js';
