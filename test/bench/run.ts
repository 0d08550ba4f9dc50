/**
 * Benchmark (not a test): vmstated with the bhyve simulator and N VMs. Prints a table and one JSON
 * line. Run: npm run bench -- [--vms N] [--reboot-seconds S] [--reboot-rate R] [--status-every MS]
 *   [--cli-runs R] [--node-options OPTS]
 *
 * Measures: time until the daemon serves; time to start all N; supervisor memory (PSS of the
 * registry and every worker) per running VM, a worker beside a bare Node process started in the
 * same run (worker-memory.ts does only that), and bhyve's keeper (keeper-bench.ts); `status`
 * round trip at rest, under a flood of the control socket by unprivileged users (flood.ts), while
 * a scraper polls the metrics listener (metrics-bench.ts, with the scrape's own time) and while VMs
 * reboot in a loop; guest reboot (bhyve exit) to relaunch; `vmstatedctl status` beside
 * `node -e 0`; SIGTERM
 * until every VM is stopped and nothing is left. Everything it starts is killed on exit or Ctrl-C.
 *
 * `status` is asked at a fixed pace (every --status-every ms, 10 by default: a monitor polling a
 * hundred times a second), not back to back: a client looping as fast as it can would take one of
 * the two cores from the daemon whose latency it measures. The daemon gets the environment
 * service(8) gives an rc script (`env -i HOME=/ PATH=...`), not this shell's: a variable such as
 * NODE_EXTRA_CA_CERTS, set on this machine, costs every Node process 1.1 MB and no daemon sees it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendControl } from '../../src/bhyvesim/control.js';
import { controlSocketPath } from '../../src/bhyvesim/paths.js';
import { ControlClient } from '../../src/protocol/client.js';
import type { VmStatus } from '../../src/protocol/types.js';
import { VMSTATEDCTL_BIN } from '../helpers/paths.js';
import { createVmstatedEnv, processesMentioning, waitFor } from '../helpers/vmstated-env.js';
import { benchMetrics, metricsPort } from './metrics-bench.js';
import { benchStatusUnderFlood } from './flood.js';
import { machineCpuMs, meanMemory, percentile, processCpuMs, processMemory, pssKiB, serviceEnvironment, spawnBareNode, wallTimes } from './measure.js';
import { isProcessAlive } from '../../src/shared/process.js';
import { keeperPssKiB } from './keeper-bench.js';
import { numberOption, stringOption } from './options.js';

const vmCount = numberOption('vms', 200);
const rebootSeconds = numberOption('reboot-seconds', 5);
const rebootRate = numberOption('reboot-rate', 4);
const statusEveryMs = numberOption('status-every', 10);
const cliRuns = numberOption('cli-runs', 7);
const nodeOptions = stringOption('node-options');
const env = createVmstatedEnv('vmstated-bench-');
env.env = serviceEnvironment({ BHYVE_SIM_DIR: env.env.BHYVE_SIM_DIR });
if (nodeOptions !== undefined) env.env.NODE_OPTIONS = nodeOptions;
/** How long after the last start memory is read. */
const MEMORY_SETTLE_MS = 12_000;
const names = Array.from({ length: vmCount }, (_, i) => `vm${String(i).padStart(4, '0')}`);

/** A bare Node process beside the workers, for their ratio to it (measure.ts). */
let bareNode: ChildProcess | null = null;
let cleaning: Promise<void> | null = null;
function cleanup(): Promise<void> {
  bareNode?.kill('SIGKILL');
  cleaning ??= env.destroy();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: killing everything the bench started in ${env.dir}`);
    void cleanup().finally(() => process.exit(130));
  });
}

const rows: Array<[string, string, string]> = [];
const figures: Record<string, number | string | null> = { vms: vmCount, statusEveryMs, nodeOptions: nodeOptions ?? null, cpus: os.cpus().length, loadavg: os.loadavg()[0]!.toFixed(2) };
function record(key: string, label: string, value: number | null, unit: string, target = ''): void {
  figures[key] = value === null ? null : Number(value.toFixed(2));
  rows.push([label, value === null ? 'n/a' : `${value.toFixed(value < 10 ? 2 : 0)} ${unit}`, target]);
}

/**
 * Starts measuring CPU: the registry's own (what this project's daemon costs) and the machine's
 * (whether a phase was CPU-bound). The returned function records both under `<key>`-named keys.
 */
function cpuMeter(daemonPid: number, phase: string): (label: string, registryCpuMs?: number | null) => void {
  const registryBefore = processCpuMs(daemonPid);
  const machineBefore = machineCpuMs();
  return (label, registryCpuMs = processCpuMs(daemonPid)) => {
    const machineAfter = machineCpuMs();
    const registryUsed = registryBefore === null || registryCpuMs === null ? null : registryCpuMs - registryBefore;
    record(`registryCpu${phase}Ms`, `  registry CPU during ${label}`, registryUsed, 'ms');
    const busy = machineBefore === null || machineAfter === null ? null : (100 * (machineAfter.busy - machineBefore.busy)) / (machineAfter.total - machineBefore.total);
    record(`machineBusy${phase}Pct`, `  machine CPU busy during ${label}`, busy, '%');
  };
}

/** Asks `status` every statusEveryMs (or as soon as the previous reply came, if later) while `more()`. */
async function statusRoundTrips(client: ControlClient, more: (asked: number) => boolean): Promise<number[]> {
  const times: number[] = [];
  let next = performance.now();
  while (more(times.length)) {
    const wait = next - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    next += statusEveryMs;
    const started = performance.now();
    const list = await client.request<VmStatus[]>('status');
    times.push(performance.now() - started);
    if (list.length !== vmCount) throw new Error(`status listed ${list.length} VMs, not ${vmCount}`);
  }
  return times;
}

/** Reboots a random running guest `perSecond` times a second until `until()`; counts the reboots done. */
async function rebootLoop(until: () => boolean, perSecond: number): Promise<number> {
  let asked = 0;
  const inFlight: Array<Promise<void>> = [];
  while (!until()) {
    const name = names[Math.floor(Math.random() * names.length)]!;
    inFlight.push(sendControl(controlSocketPath(env.simdir, name), { op: 'guest', action: 'reboot' }).then((reply) => {
      if (typeof reply === 'object' && reply.ok) asked += 1;
    }));
    await new Promise((resolve) => setTimeout(resolve, 1000 / perSecond));
  }
  await Promise.all(inFlight);
  return asked;
}

/**
 * From the VM logs: per guest reboot, ms from the worker seeing bhyve's exit to the relaunch, and
 * the part of it spent in `bhyvectl --destroy` (a Node process with the simulator; a C program on FreeBSD).
 */
function relaunchTimes(): { total: number[]; destroy: number[] } {
  const total: number[] = [];
  const destroy: number[] = [];
  for (const name of names) {
    let exitAt: number | null = null;
    let destroyAt: number | null = null;
    let destroyMs = 0;
    const text = fs.readFileSync(path.join(env.logdir, `${name}.log`), 'utf8');
    for (const line of text.split('\n')) {
      const at = Date.parse(line.slice(0, 24));
      if (/vmstated: bhyve pid \d+ exited: code 0/.test(line)) [exitAt, destroyMs] = [at, 0];
      else if (exitAt !== null && /vmstated: running .*--destroy/.test(line)) destroyAt = at;
      else if (destroyAt !== null && /vmstated: vmm instance .* destroyed/.test(line)) [destroyMs, destroyAt] = [at - destroyAt, null];
      else if (exitAt !== null && /vmstated: launched bhyve pid \d+ \(reboot\)/.test(line)) {
        total.push(at - exitAt);
        destroy.push(destroyMs);
        exitAt = null;
      }
    }
  }
  return { total, destroy };
}

async function main(): Promise<void> {
  for (const name of names) env.writeVm(name, { maxrestart: 100_000, maxrestarttime: '1s', stoptimeout: '10s' });

  let started = Date.now();
  const port = await metricsPort();
  const daemonPid = await env.startDaemon(['--metrics-listen', String(port)]);
  record('serveMs', `daemon serving (${vmCount} configured)`, Date.now() - started, 'ms');

  const client = await env.client();

  started = Date.now();
  const startCpu = cpuMeter(daemonPid, 'Start');
  bareNode = spawnBareNode();
  const failedStarts: string[] = [];
  let startsDone = false;
  const starting = Promise.all(names.map((vm) => client.request('start', { vm }, { timeoutMs: 300_000 }).catch((err: Error) => {
    failedStarts.push(vm);
    if (failedStarts.length <= 3) console.error(`start ${vm} failed: ${err.message}`);
  }))).finally(() => (startsDone = true));
  // Meanwhile, how long `status` waits while the registry spawns workers (a few a second: light).
  const prober = await env.client();
  const duringStart: number[] = [];
  while (!startsDone) {
    const asked = process.hrtime.bigint();
    await prober.request('status');
    duringStart.push(Number(process.hrtime.bigint() - asked) / 1e6);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  prober.close();
  await starting;
  const startsEndedAt = Date.now();
  record('startAllMs', `start all ${vmCount} (one request each, at once)`, Date.now() - started, 'ms');
  record('statusP50StartMs', `  status p50 meanwhile (${duringStart.length} asked)`, percentile(duringStart, 50), 'ms');
  record('statusP99StartMs', '  status p99 meanwhile', percentile(duringStart, 99), 'ms');
  record('startFailures', '  of them failed (then retried one by one)', failedStarts.length, '');
  startCpu('start all');
  for (const vm of failedStarts) await client.request('start', { vm }, { timeoutMs: 300_000 });
  const statuses = await client.request<VmStatus[]>('status');
  const notRunning = statuses.filter((s) => s.state !== 'running');
  if (notRunning.length > 0) throw new Error(`not running after start: ${notRunning.map((s) => `${s.name}=${s.state}`).join(', ')}`);

  await statusRoundTrips(client, (asked) => asked < 20);
  const atRest = await statusRoundTrips(client, (asked) => asked < 300);
  // Memory once the workers are at rest: V8 gives back some of what start-up took only after
  // ~10 s (its memory reducer), and a VM runs for months.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startsEndedAt + MEMORY_SETTLE_MS - Date.now())));
  const workerPids = statuses.map((s) => s.workerPid).filter((pid): pid is number => pid !== null);
  const registryPss = pssKiB(daemonPid);
  const workers = meanMemory(workerPids.map(processMemory));
  const bare = processMemory(bareNode!.pid!);
  if (registryPss !== null && workers !== null && bare !== null) {
    record('registryPssMB', 'registry PSS', registryPss / 1024, 'MB');
    record('workerPssMB', `worker PSS, mean of ${workerPids.length}`, workers.pssKiB / 1024, 'MB');
    record('workerPrivateMB', '  of it private (mean)', workers.privateKiB / 1024, 'MB');
    record('workerThreads', '  threads (mean)', workers.threads, '');
    record('bareNodePssMB', "bare node -e 'setInterval(...)' PSS, same run", bare.pssKiB / 1024, 'MB');
    record('bareNodePrivateMB', '  of it private', bare.privateKiB / 1024, 'MB');
    record('bareNodeThreads', '  threads', bare.threads, '');
    record('workerOverBarePrivate', 'worker / bare node, private memory', workers.privateKiB / bare.privateKiB, 'x', '<= 1.15');
    record('workerOverBarePss', 'worker / bare node, PSS', workers.pssKiB / bare.pssKiB, 'x');
    record('pssPerVmMB', 'supervisor PSS per running VM', (registryPss + workers.pssKiB * workerPids.length) / vmCount / 1024, 'MB', '<= 8 (aim 5)');
  } else {
    record('pssPerVmMB', 'supervisor PSS per running VM (no smaps_rollup)', null, 'MB', '<= 8 (aim 5)');
  }
  const keepers = await keeperPssKiB(statuses.map((s) => s.pid).filter((pid): pid is number => pid !== null));
  record('keeperPssKB', `bhyve's keeper (sh) PSS per VM, mean of ${keepers.keepers}`, keepers.meanKiB, 'KB', '< 1024');

  record('statusP50RestMs', `status p50, ${vmCount} running, at rest (asked every ${statusEveryMs} ms)`, percentile(atRest, 50), 'ms');
  record('statusP99RestMs', `status p99, ${vmCount} running, at rest`, percentile(atRest, 99), 'ms', '< 10');
  await benchMetrics(`http://127.0.0.1:${port}/metrics`, (more) => statusRoundTrips(client, more), record, { vms: vmCount, daemonPid });
  await benchStatusUnderFlood({ socketDir: env.dir, sockpath: env.sockpath, client, statusRoundTrips, record, pssKiB, daemonPid });

  const rebootCpu = cpuMeter(daemonPid, 'Reboot');
  const rebootUntil = Date.now() + rebootSeconds * 1000;
  const rebooting = rebootLoop(() => Date.now() > rebootUntil, rebootRate);
  const underLoad: number[] = [];
  underLoad.push(...(await statusRoundTrips(client, () => Date.now() < rebootUntil)));
  const rebootsAsked = await rebooting;
  const rebootRegistryCpu = processCpuMs(daemonPid);
  const endRebootCpu = (): void => rebootCpu('status while rebooting', rebootRegistryCpu);
  let unsettled: string[] = [];
  await waitFor('every rebooted VM to run again', async () => {
    const list = await client.request<VmStatus[]>('status');
    unsettled = list.filter((s) => s.state !== 'running').map((s) => `${s.name}=${s.state}`);
    return unsettled.length === 0 ? true : undefined;
  }, 120_000).catch((err: Error) => { throw new Error(`${err.message}: ${unsettled.join(', ')}`); });
  const relaunch = relaunchTimes();
  const supervisorMs = relaunch.total.map((ms, i) => ms - relaunch.destroy[i]!);
  record('statusP50RebootMs', `status p50 while rebooting (${rebootsAsked} reboots)`, percentile(underLoad, 50), 'ms');
  record('statusP99RebootMs', 'status p99 while rebooting', percentile(underLoad, 99), 'ms', '< 10');
  endRebootCpu();
  record('relaunchP50Ms', `bhyve exit to relaunch p50 (${relaunch.total.length} reboots)`, percentile(relaunch.total, 50), 'ms', '< 100');
  record('relaunchP99Ms', 'bhyve exit to relaunch p99', percentile(relaunch.total, 99), 'ms');
  record('destroyP50Ms', '  of it bhyvectl-sim --destroy, p50', percentile(relaunch.destroy, 50), 'ms');
  record('relaunchOwnP50Ms', '  the rest (the worker\'s own), p50', percentile(supervisorMs, 50), 'ms');
  record('relaunchOwnP99Ms', '  the rest (the worker\'s own), p99', percentile(supervisorMs, 99), 'ms');

  const nodeTimes = await wallTimes([process.execPath, '-e', '0'], cliRuns);
  const ctlTimes = await wallTimes([process.execPath, VMSTATEDCTL_BIN, '-s', env.sockpath, 'status'], cliRuns);
  record('nodeE0Ms', 'node -e 0, median', percentile(nodeTimes, 50), 'ms');
  record('ctlStatusMs', `vmstatedctl status (${vmCount} VMs), median`, percentile(ctlTimes, 50), 'ms', '<= 1.5x node -e 0');
  record('ctlOverNode', 'vmstatedctl status / node -e 0', percentile(ctlTimes, 50) / percentile(nodeTimes, 50), 'x', '<= 1.5 (issue 14)');

  client.close();
  started = Date.now();
  const sigtermCpu = cpuMeter(daemonPid, 'Sigterm');
  let registryCpu = processCpuMs(daemonPid);
  process.kill(daemonPid, 'SIGTERM');
  // The daemon exits last (after every VM stopped and every worker exited): watch it cheaply, then
  // make sure with ps, whose scan of every process would load the machine if it ran all along.
  await waitFor('vmstated to exit after SIGTERM', () => {
    registryCpu = processCpuMs(daemonPid) ?? registryCpu;
    return isProcessAlive(daemonPid) ? undefined : true;
  }, 120_000);
  await waitFor('every process to exit after SIGTERM', () => (processesMentioning(env.dir).length === 0 ? true : undefined), 120_000);
  record('sigtermMs', `SIGTERM until all ${vmCount} stopped, nothing left`, Date.now() - started, 'ms');
  sigtermCpu('SIGTERM', registryCpu);
}

/** The fake-daemon CLI start-up bench next to this file, for the breakdown (oclif vs bare client). */
function cliStartupBreakdown(): Promise<void> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cli-startup.js');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, String(cliRuns)], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('close', () => resolve());
  });
}

try {
  console.log(`vmstated bench: ${vmCount} VMs, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  await main();
} catch (err) {
  console.error(`bench failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
const width = Math.max(...rows.map((r) => r[0].length));
for (const [label, value, target] of rows) console.log(`${label.padEnd(width)}  ${value.padStart(10)}  ${target ? `target ${target}` : ''}`);
console.log('--- vmstatedctl start-up against a fake daemon (test/bench/cli-startup) ---');
await cliStartupBreakdown();
console.log(JSON.stringify({ bench: 'vmstated', ...figures }));
