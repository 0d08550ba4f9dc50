/**
 * Helpers for the fault and load tests: many VMs in one vmstated test env, the simulated bhyves
 * that really run (from ps), a seeded random source and a recorder of the daemon's events.
 */
import { spawnSync } from 'node:child_process';
import { listVmmRecords } from '../../src/bhyvesim/record.js';
import { simKernelTag, simKernelTagOf } from '../../src/bhyvesim/title.js';
import type { ControlClient } from '../../src/protocol/client.js';
import type { VmEvent, VmStatus } from '../../src/protocol/types.js';
import type { VmstatedEnv } from '../helpers/vmstated-env.js';

/** `count` VM names, vm00, vm01, ... */
export function vmNames(count: number, prefix = 'vm'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`);
}

/**
 * Running simulated bhyves of this env by VM name: by the title a running one gives itself
 * (`bhyve: NAME (bhyve-sim TAG)`, TAG naming this env's state dir), or, before that, by its command
 * line (the simulator's script, this env's dir, the VM name last).
 */
export function bhyvesByVm(env: VmstatedEnv): Map<string, number[]> {
  const ps = spawnSync('ps', ['-ax', '-ww', '-o', 'pid=,args='], { encoding: 'utf8' });
  if (ps.status !== 0) throw new Error(`ps failed: ${ps.stderr}`);
  const byVm = new Map<string, number[]>();
  const tag = simKernelTag(env.simdir);
  for (const line of ps.stdout.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const args = line.trim().slice(fields[0]!.length).trim();
    const titled = simKernelTagOf(args) === tag;
    // The bhyve itself, not a worker whose options name the simulator.
    const starting = fields.slice(1, 3).some((field) => field.endsWith('/bhyve-sim.js')) && line.includes(env.dir);
    if (!titled && !starting) continue;
    const pid = Number.parseInt(fields[0]!, 10);
    const vm = titled ? fields[2]! : fields[fields.length - 1]!;
    byVm.set(vm, [...(byVm.get(vm) ?? []), pid]);
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
