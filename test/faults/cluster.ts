/**
 * Helpers for the fault and load tests: many VMs in one vmstated test env, the simulated bhyves
 * that really run (from ps), a seeded random source and a recorder of the daemon's events.
 */
import { spawnSync } from 'node:child_process';
import { listVmmRecords } from '../../src/bhyvesim/record.js';
import type { ControlClient } from '../../src/protocol/client.js';
import type { VmEvent, VmStatus } from '../../src/protocol/types.js';
import type { VmstatedEnv } from '../helpers/vmstated-env.js';

/** `count` VM names, vm00, vm01, ... */
export function vmNames(count: number, prefix = 'vm'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`);
}

/**
 * Running simulated bhyves of this env by VM name. Once running, a bhyve shows only its title
 * (`bhyve: <name>`, as bhyverun.c sets it), so it is known as this env's by its parent, bhyve's
 * keeper, whose command line names the env's run directory; a bhyve not yet titled by its own
 * command line (the simulator's script, the VM name last).
 */
export function bhyvesByVm(env: VmstatedEnv): Map<string, number[]> {
  const ps = spawnSync('ps', ['-ax', '-ww', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' });
  if (ps.status !== 0) throw new Error(`ps failed: ${ps.stderr}`);
  const processes = ps.stdout.split('\n').flatMap((line) => {
    const match = /^\s*(\d+)\s+(\d+)\s(.*)$/.exec(line);
    return match === null ? [] : [{ pid: Number(match[1]), ppid: Number(match[2]), args: match[3]!.trim() }];
  });
  const argsOf = new Map(processes.map((p) => [p.pid, p.args]));
  const byVm = new Map<string, number[]>();
  for (const { pid, ppid, args } of processes) {
    const titled = /^bhyve: (\S+)/.exec(args);
    const words = args.split(/\s+/);
    const untitled = words.slice(0, 2).some((word) => word.endsWith('/bhyve-sim.js')) && args.includes(env.dir);
    if (titled === null && !untitled) continue;
    if (titled !== null && !(argsOf.get(ppid) ?? '').includes(env.dir)) continue;
    const vm = titled?.[1] ?? words[words.length - 1]!;
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
