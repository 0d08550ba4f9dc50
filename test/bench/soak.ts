/**
 * Soak (not a test): does vmstated's memory settle, or does it leak? Run:
 *   node dist/test/bench/soak.js [--vms 20] [--minutes 5] [--reboot-every S] [--status-every MS]
 *
 * vmstated with the bhyve simulator runs --vms VMs; each guest reboots every --reboot-every
 * seconds (2 by default, through the simulator's control socket, as `bhyvectl-sim --vm=NAME
 * --sim-guest=reboot` does) while a client asks `status` every --status-every ms (50). Early (a
 * fifth of the way in, once the first start-up garbage is old) and at the end, the load pauses
 * until every VM runs again, and the daemon and one worker write a heap snapshot
 * (heap-snapshot.ts: taken after a full GC, so it holds only what is live). Garbage not yet
 * collected does not count; what grew from early to late is kept alive by something, and the
 * kinds that grew most are printed. (Not RSS: writing the early snapshot itself grows it.)
 * At the end every VM must be running, and every acknowledged reboot must have relaunched its bhyve.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sendControl } from '../../src/bhyvesim/control.js';
import { controlSocketPath } from '../../src/bhyvesim/paths.js';
import type { ControlClient } from '../../src/protocol/client.js';
import type { VmStatus } from '../../src/protocol/types.js';
import { createVmstatedEnv, waitFor } from '../helpers/vmstated-env.js';
import { heapGrowth, heapSnapshotNodeOptions, takeHeapSnapshot, type HeapSummary } from './heap-snapshot.js';
import { numberOption } from './options.js';
import { percentile, serviceEnvironment } from './measure.js';

const vmCount = numberOption('vms', 20);
const durationMs = numberOption('minutes', 5) * 60_000;
const rebootEveryMs = numberOption('reboot-every', 2) * 1000;
const statusEveryMs = numberOption('status-every', 50);

const env = createVmstatedEnv('vmstated-soak-');
const snapshotDir = path.join(env.dir, 'heap');
fs.mkdirSync(snapshotDir);
env.env = serviceEnvironment({ BHYVE_SIM_DIR: env.env.BHYVE_SIM_DIR, NODE_OPTIONS: heapSnapshotNodeOptions(snapshotDir) });
const names = Array.from({ length: vmCount }, (_, i) => `vm${String(i).padStart(4, '0')}`);

let cleaning: Promise<void> | null = null;
function cleanup(): Promise<void> {
  cleaning ??= env.destroy();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: killing everything the soak started in ${env.dir}`);
    void cleanup().finally(() => process.exit(130));
  });
}

interface Sample {
  at: number;
  daemon: HeapSummary;
  worker: HeapSummary;
}

class Load {
  private paused = true;
  private stopped = false;
  readonly acknowledged = new Map<string, number>(names.map((name) => [name, 0]));
  readonly statusMs: number[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly loops: Array<Promise<void>>;
  private failure: Error | null = null;

  constructor(private readonly client: ControlClient) {
    this.loops = [this.rebootLoop(), this.statusLoop()].map((loop) => loop.catch((err: Error) => {
      this.failure ??= err;
      this.stopped = true;
    }));
  }

  resume(): void {
    this.paused = false;
  }

  /** Stops asking reboots and waits for those asked, then until every VM runs again. */
  async pause(): Promise<void> {
    this.paused = true;
    await Promise.all(this.inFlight);
    if (this.failure !== null) throw this.failure;
    let unsettled: string[] = [];
    await waitFor('every VM to run again', async () => {
      const list = await this.client.request<VmStatus[]>('status');
      unsettled = list.filter((s) => s.state !== 'running').map((s) => `${s.name}=${s.state}`);
      return unsettled.length === 0 ? true : undefined;
    }, 120_000).catch((err: Error) => { throw new Error(`${err.message}: ${unsettled.join(', ')}`); });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    await this.pause();
  }

  private async rebootLoop(): Promise<void> {
    // One VM after another, so that each is asked once every rebootEveryMs.
    const tickMs = rebootEveryMs / vmCount;
    for (let next = 0; !this.stopped; next = (next + 1) % vmCount) {
      await new Promise((resolve) => setTimeout(resolve, tickMs));
      if (this.paused) continue;
      const name = names[next]!;
      const asking = sendControl(controlSocketPath(env.simdir, name), { op: 'guest', action: 'reboot' }).then((reply) => {
        if (typeof reply === 'object' && reply.ok) this.acknowledged.set(name, this.acknowledged.get(name)! + 1);
      }, () => {}).finally(() => this.inFlight.delete(asking));
      this.inFlight.add(asking);
    }
  }

  private async statusLoop(): Promise<void> {
    while (!this.stopped) {
      await new Promise((resolve) => setTimeout(resolve, statusEveryMs));
      const started = performance.now();
      const list = await this.client.request<VmStatus[]>('status');
      this.statusMs.push(performance.now() - started);
      if (list.length !== vmCount) throw new Error(`status listed ${list.length} VMs, not ${vmCount}`);
      const failed = list.filter((s) => s.state === 'failed');
      if (failed.length > 0) throw new Error(`VMs failed during the soak: ${failed.map((s) => s.name).join(', ')}`);
    }
  }
}

/** Relaunches after a guest reboot, per VM, from the VM logs. */
function rebootLaunches(): Map<string, number> {
  return new Map(names.map((name) => [name, (env.vmLog(name).match(/vmstated: launched bhyve pid \d+ \(reboot\)/g) ?? []).length]));
}

/** How a VM's bhyves exited and were launched, counted from its log, for a failure message. */
function exitsOf(name: string): string {
  const counts = new Map<string, number>();
  for (const match of env.vmLog(name).matchAll(/vmstated: (bhyve pid \d+ exited: [^;,\n]*|launched bhyve pid \d+ \([^)]*\))/g)) {
    const what = match[1]!.replace(/pid \d+ /, '');
    counts.set(what, (counts.get(what) ?? 0) + 1);
  }
  return [...counts].map(([what, count]) => `${count}x ${what}`).join(', ');
}

async function sample(daemonPid: number, workerPid: number): Promise<Sample> {
  const daemon = await takeHeapSnapshot(daemonPid, snapshotDir);
  const worker = await takeHeapSnapshot(workerPid, snapshotDir);
  return { at: Date.now(), daemon, worker };
}

const MB = 1024 * 1024;

/** Bytes of compiled code (V8's node type `code`: bytecode, machine code and their tables). */
function codeBytes(summary: HeapSummary): number {
  let bytes = 0;
  for (const [kind, entry] of summary.kinds) if (kind.startsWith('code ')) bytes += entry.bytes;
  return bytes;
}

/** The reboots between the two samples: of every VM (the daemon's), and of the measured worker's own VM. */
interface Reboots {
  daemon: number;
  worker: number;
}

function report(early: Sample, late: Sample, reboots: Reboots, statusMs: number[]): void {
  const rows: Array<[string, string]> = [];
  const minutes = (late.at - early.at) / 60_000;
  for (const who of ['daemon', 'worker'] as const) {
    const before = early[who].liveBytes;
    const after = late[who].liveBytes;
    rows.push([`${who} heap after GC, early -> late`, `${(before / MB).toFixed(2)} -> ${(after / MB).toFixed(2)} MB (${after >= before ? '+' : ''}${(((after - before) / before) * 100).toFixed(1)} %, ${(((after - before) / 1024 / reboots[who]) * 1000).toFixed(1)} KB per 1,000 reboots ${who === 'daemon' ? 'of all VMs' : 'of its VM'})`]);
    const code = codeBytes(late[who]) - codeBytes(early[who]);
    rows.push(['  of it compiled code', `${code >= 0 ? '+' : ''}${(code / 1024).toFixed(0)} KB (V8 compiling hot functions as the load goes on: it levels off)`]);
    rows.push(['  the rest (data)', `${after - before - code >= 0 ? '+' : ''}${((after - before - code) / 1024).toFixed(0)} KB`]);
    for (const line of heapGrowth(early[who], late[who])) rows.push(['  grew', line]);
  }
  rows.push([`reboots between the two (${minutes.toFixed(1)} min)`, `${reboots.daemon} (${reboots.worker} of the worker's VM)`]);
  rows.push(['status p50 / p99 under load', `${percentile(statusMs, 50).toFixed(2)} / ${percentile(statusMs, 99).toFixed(2)} ms (${statusMs.length} asked)`]);
  const width = Math.max(...rows.map((row) => row[0].length));
  for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${value}`);
  console.log(JSON.stringify({
    bench: 'soak', vms: vmCount, minutes: durationMs / 60_000, rebootEveryMs, statusEveryMs, reboots: reboots.daemon, workerVmReboots: reboots.worker,
    daemonHeapEarlyMB: Number((early.daemon.liveBytes / MB).toFixed(3)), daemonHeapLateMB: Number((late.daemon.liveBytes / MB).toFixed(3)),
    workerHeapEarlyMB: Number((early.worker.liveBytes / MB).toFixed(3)), workerHeapLateMB: Number((late.worker.liveBytes / MB).toFixed(3)),
    daemonDataGrowthKB: Number(((late.daemon.liveBytes - codeBytes(late.daemon) - early.daemon.liveBytes + codeBytes(early.daemon)) / 1024).toFixed(1)),
    workerDataGrowthKB: Number(((late.worker.liveBytes - codeBytes(late.worker) - early.worker.liveBytes + codeBytes(early.worker)) / 1024).toFixed(1)),
  }));
}

async function main(): Promise<void> {
  for (const name of names) env.writeVm(name, { maxrestart: 100_000, maxrestarttime: '1s', stoptimeout: '10s' });
  const daemonPid = await env.startDaemon();
  const client = await env.client();
  try {
    await Promise.all(names.map((vm) => client.request('start', { vm }, { timeoutMs: 300_000 })));
    const [first] = await client.request<VmStatus[]>('status', { vm: names[0] });
    const workerPid = first!.workerPid!;
    const began = Date.now();
    const load = new Load(client);
    load.resume();
    await new Promise((resolve) => setTimeout(resolve, Math.max(15_000, durationMs / 5)));
    await load.pause();
    const launchesEarly = rebootLaunches();
    const early = await sample(daemonPid, workerPid);
    console.log(`early sample after ${((Date.now() - began) / 1000).toFixed(0)} s`);
    load.resume();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, began + durationMs - Date.now())));
    await load.stop();
    // A VM log line may land a moment after `status` says running: give the logs a few seconds.
    let launchesLate = rebootLaunches();
    const behind = (): string[] => names.filter((name) => launchesLate.get(name)! < load.acknowledged.get(name)!);
    await waitFor('the VM logs to show every reboot', () => ((launchesLate = rebootLaunches()), behind().length === 0 ? true : undefined), 10_000).catch(() => {});
    const late = await sample(daemonPid, workerPid);
    const [still] = await client.request<VmStatus[]>('status', { vm: names[0] });
    if (still!.workerPid !== workerPid) throw new Error(`the worker of ${names[0]} changed (${workerPid} -> ${still!.workerPid}): not the same process early and late`);
    const lost = behind();
    if (lost.length > 0) {
      const why = lost.map((name) => `${name}: ${launchesLate.get(name)} relaunched of ${load.acknowledged.get(name)}; its bhyve exits: ${exitsOf(name)}`);
      throw new Error(`reboots acknowledged by the guest but never relaunched:\n${why.join('\n')}`);
    }
    const rebootsOf = (name: string): number => launchesLate.get(name)! - launchesEarly.get(name)!;
    const reboots = { daemon: names.reduce((sum, name) => sum + rebootsOf(name), 0), worker: rebootsOf(names[0]!) };
    const total = names.reduce((sum, name) => sum + launchesLate.get(name)!, 0);
    console.log(`${total} reboots in all, none lost; every VM running at the end`);
    report(early, late, reboots, load.statusMs);
  } finally {
    client.close();
  }
}

try {
  console.log(`vmstated soak: ${vmCount} VMs, each rebooted every ${rebootEveryMs / 1000} s, status every ${statusEveryMs} ms, ${durationMs / 60_000} min; ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  await main();
} catch (err) {
  console.error(`soak failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
