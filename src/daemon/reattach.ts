/**
 * Re-attach after a registry restart or crash: workers keep running without us. Each
 * `<rundir>/<vm>.worker.json` names a worker. The kernel says whether it lives (it holds the VM's
 * lock): a live one is connected again (same bhyve, same state); the bhyve run of a dead one is
 * checked against the process table and, when it is still that VM's, taken over by a new worker
 * (also a run that ended meanwhile: its keeper recorded how); anything else is a stale record,
 * reported and removed. Never a second worker, nor a second bhyve, for one VM; never a signal to
 * a process the record merely names.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BhyveRun, WorkerRecord } from '../../workers/api.js';
import { parseWorkerRecord, specVmConfig } from '../../workers/records.js';
import { checkRun } from '../../workers/run-check.js';
import { appendVmLogLine } from '../../workers/vm-log.js';
import { WORKER_RECORD_SUFFIX, workerFiles, type WorkerFiles } from '../../workers/worker-files.js';
import type { VmConfig } from '../config/types.js';
import type { VmStatus } from '../protocol/types.js';
import { lockHolder } from '../shared/file-lock.js';
import { isProcessAlive } from '../shared/process.js';
import { readProcess } from '../shared/process-table.js';
import { MAX_STATE_BYTES, readRegularFileSync } from '../shared/safe-read.js';
import type { Registry } from './registry.js';
import { AT_REST, CONFIG_REMOVED_NOTE, bareConfig, configFromStatus } from './vm-entry.js';
import type { VmEntry } from './vm-entry.js';
import { withTimeout } from './timeout.js';
import { connectToWorker } from './worker-link.js';
import type { WorkerLink } from './worker-link.js';

/** How long a live worker asked to listen on its socket again (SIGUSR2) gets to do it. */
const RELISTEN_WAIT_MS = 3000;
/** How long a worker killed for not answering gets to let go of its lock. */
const KILLED_WAIT_MS = 5000;

/**
 * A worker record, if it is one: it names the VM its file is named after, pids are real pids
 * (never 0 or negative, which kill(2) reads as process groups), and the socket is the one that VM's
 * worker uses, whatever the file says (a removed stale record takes its socket with it).
 */
function readRecord(file: string): WorkerRecord | null {
  const vm = path.basename(file).slice(0, -WORKER_RECORD_SUFFIX.length);
  try {
    const record = parseWorkerRecord(readRegularFileSync(file, { limit: MAX_STATE_BYTES }).toString('utf8'));
    return record?.vm === vm ? record : null;
  } catch {
    return null;
  }
}

/** The record and socket of a worker that is gone; their paths are ours, never the record's. */
function removeStale(files: WorkerFiles): void {
  for (const stale of [files.record, files.socket]) {
    try {
      fs.rmSync(stale, { force: true });
    } catch {
      // Not a file (a directory someone made there): it stays, and is skipped again next time.
    }
  }
}

export async function reattachWorkers(registry: Registry): Promise<void> {
  const { rundir } = registry.options;
  const log = registry.log;
  let names: string[];
  try {
    names = fs.readdirSync(rundir).filter((name) => name.endsWith(WORKER_RECORD_SUFFIX));
  } catch {
    return;
  }
  await Promise.all(
    names.map(async (name) => {
      const file = path.join(rundir, name);
      const vm = name.slice(0, -WORKER_RECORD_SUFFIX.length);
      const record = readRecord(file);
      if (record === null || record.vm !== vm) {
        log.warn({ file }, 'removing an unreadable worker record');
        fs.rmSync(file, { force: true });
        return;
      }
      try {
        await reattachRecord(registry, record);
      } catch (err) {
        log.error({ vm: record.vm, file, err }, 're-attach failed');
      }
    }),
  );
}

/** 'unreachable': a worker lives (it holds the VM's lock) but cannot be reached; it is left alone. */
export type ReattachOutcome = 'attached' | 'adopted' | 'gone' | 'unreachable';

/**
 * One worker record: connect to its worker when one holds the VM's lock, else take over the
 * bhyve run it names once checked (workers/run-check.ts), else remove it. `knownBhyvePid` is the
 * registry's own idea of the bhyve pid, for a record written before bhyve was launched.
 */
export async function reattachRecord(registry: Registry, record: WorkerRecord, knownBhyvePid: number | null = null): Promise<ReattachOutcome> {
  const entry = registry.get(record.vm);
  const files = workerFiles(registry.options.rundir, record.vm);
  const holder = await lockHolder(files.lock);
  if (holder !== undefined) {
    const outcome = await attachLiveWorker(registry, entry, files, holder ?? record.workerPid);
    if (outcome !== 'replace') return outcome;
  }
  removeStale(files);
  const bhyvePid = record.bhyvePid ?? knownBhyvePid;
  const claimed = record.run ?? (bhyvePid === null ? null : runOfPid(bhyvePid));
  if (claimed === null) {
    registry.log.info({ vm: record.vm, workerPid: record.workerPid }, 'removed a stale worker record');
    return 'gone';
  }
  const adoption = await checkRun(record.vm, registry.options.rundir, claimed);
  if (adoption.kind === 'stale') {
    reportStale(registry, record.vm, adoption.why);
    return 'gone';
  }
  const history = record.restartHistory ?? [];
  if (entry === undefined) {
    // Never an orphan: a worker adopts it under a stand-in config, with the config it ran with.
    const spec = specConfig(registry, record.vm);
    const kept = registry.brokenNames.has(record.vm) ? keepBroken(registry, record.vm, spec) : keepWithoutConfig(registry, record.vm, null, spec);
    await registry.adoptBhyve(kept, adoption.run, history, spec ?? kept.config);
    return 'adopted';
  }
  await registry.adoptBhyve(entry, adoption.run, history);
  return 'adopted';
}

/** A bhyve known only by its pid (no record of its run): checked by its title alone, output copied from the start. */
function runOfPid(bhyvePid: number): BhyveRun {
  return { bhyvePid, bhyveStartedAt: null, keeperPid: null, keeperStartedAt: null, argv: [], output: { stdout: 0, stderr: 0 } };
}

/** A record that names processes that are no longer this VM's: said in the daemon log and the VM log, nothing touched. */
function reportStale(registry: Registry, vm: string, why: string): void {
  registry.log.warn({ vm, why }, 'removed a stale worker record: its bhyve run is not taken over');
  const logFile = path.join(registry.options.logdir, `${vm}.log`);
  try {
    appendVmLogLine(logFile, 'vmstated', `re-attach: the worker record was stale, nothing taken over: ${why}`);
  } catch (err) {
    registry.log.warn({ vm, err }, `cannot write the VM log ${logFile}`);
  }
}

/**
 * A worker holds the VM's lock: connect to it (asking it to listen again if its socket is gone),
 * and take it back into the registry. 'replace' when it accepted but did not answer and was
 * killed for it: its run is then taken over like a dead worker's.
 */
async function attachLiveWorker(registry: Registry, entry: VmEntry | undefined, files: WorkerFiles, workerPid: number): Promise<ReattachOutcome | 'replace'> {
  const log = registry.log;
  const vm = path.basename(files.record).slice(0, -WORKER_RECORD_SUFFIX.length);
  let link: WorkerLink;
  try {
    link = await connectLiveWorker(files, workerPid);
  } catch (err) {
    log.error({ vm, workerPid, err }, 'a worker holds the lock of this VM but cannot be reached on its socket; it is left running alone (one VM never gets a second worker)');
    return 'unreachable';
  }
  try {
    return await takeBack(registry, entry, vm, workerPid, link);
  } catch (err) {
    // It accepts but does not answer: it cannot supervise; take its bhyve over instead.
    log.error({ vm, workerPid, err }, 'worker does not answer; killing it');
    if (entry !== undefined && entry.worker?.link === link) {
      entry.worker.detach(); // taken back on purpose: not a "lost" worker to recover twice
      entry.worker = null;
    }
    link.close();
    if (await isWorkerProcess(workerPid, files)) process.kill(workerPid, 'SIGKILL');
    const deadline = Date.now() + KILLED_WAIT_MS;
    while ((await lockHolder(files.lock)) !== undefined && Date.now() < deadline) await sleep(50);
    return (await lockHolder(files.lock)) === undefined ? 'replace' : 'unreachable';
  }
}

async function takeBack(registry: Registry, entry: VmEntry | undefined, vm: string, workerPid: number, link: WorkerLink): Promise<ReattachOutcome> {
  const log = registry.log;
  if (entry === undefined && registry.brokenNames.has(vm)) {
    // Its config has errors now: keep supervising the running VM, as a reload would.
    const status = await withTimeout(link.api.status(), 5000, 'status');
    const kept = registry.addEntry(configFromStatus(status));
    kept.configBroken = true;
    log.warn({ vm, file: status.configFile }, 'config has errors; the running VM is kept under its worker');
    await registry.adoptLink(kept, workerPid, link, true);
    return 'attached';
  }
  if (entry === undefined) {
    const status = await withTimeout(link.api.status(), 5000, 'status');
    // Its config was removed while we were away; if it is not running, let the worker go.
    if (AT_REST.has(status.state) && status.pid === null && (await withTimeout(link.api.release(), 5000, 'release'))) {
      link.close();
      log.info({ vm, configFile: status.configFile, state: status.state }, 'released the worker of a VM that is no longer configured');
      return 'gone';
    }
    const kept = keepWithoutConfig(registry, vm, status);
    await registry.adoptLink(kept, workerPid, link, true);
    return 'attached';
  }
  await registry.adoptLink(entry, workerPid, link, true);
  await withTimeout(link.api.updateConfig(entry.config), 5000, 'updateConfig');
  await entry.worker?.refreshStatus();
  // It stopped or failed while no registry ran: nothing left to supervise.
  if (AT_REST.has(entry.status.state)) await registry.releaseWorker(entry);
  return 'attached';
}

/**
 * Connects to a worker known to live (it holds the VM's lock). If its socket file was removed (or
 * replaced), the worker is asked (SIGUSR2) to listen on it again: a new worker is never started
 * beside a live one.
 */
async function connectLiveWorker(files: WorkerFiles, workerPid: number): Promise<WorkerLink> {
  try {
    return await connectToWorker(files.socket);
  } catch (first) {
    if (!(await isWorkerProcess(workerPid, files))) throw first;
    process.kill(workerPid, 'SIGUSR2');
    const deadline = Date.now() + RELISTEN_WAIT_MS;
    for (;;) {
      await sleep(100);
      try {
        return await connectToWorker(files.socket, 1000);
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
    }
  }
}

/** Whether `pid` is the worker of this VM (its command line names the VM's spec): only then is it signalled. */
async function isWorkerProcess(pid: number, files: WorkerFiles): Promise<boolean> {
  const entry = await readProcess(pid).catch(() => null);
  return entry !== null && entry.args.endsWith(` ${files.spec}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The config a worker was started with (`<vm>.spec.json`, left behind when it was killed), or null. */
function specConfig(registry: Registry, vm: string): VmConfig | null {
  try {
    const file = workerFiles(registry.options.rundir, vm).spec;
    return specVmConfig(readRegularFileSync(file, { limit: MAX_STATE_BYTES }).toString('utf8'), vm);
  } catch {
    return null;
  }
}

/** Where a VM's config would be, when nothing recorded it. */
function guessedConfigFile(registry: Registry, vm: string): string {
  return path.join(registry.options.configdir, vm, 'config');
}

/**
 * A running VM whose config was removed while the registry was away: kept, visible in status
 * and stoppable, until it stops (then dropped). An admin who removed a config by mistake must
 * not lose the running guest; one who meant it stops it (or it stops at shutdown).
 */
function keepWithoutConfig(registry: Registry, vm: string, status: VmStatus | null, spec = specConfig(registry, vm)): VmEntry {
  const base = spec ?? (status !== null ? configFromStatus(status) : bareConfig(vm, guessedConfigFile(registry, vm)));
  // The note makes status say why, and a reload that finds the config again sees a change.
  const kept = registry.addEntry({ ...base, description: CONFIG_REMOVED_NOTE, autostart: false });
  kept.keepWithoutConfig();
  registry.log.warn(
    { vm, configFile: base.file, workerPid: status?.workerPid ?? null, bhyvePid: status?.pid ?? null },
    'a running VM is no longer configured; it is kept running until stopped (vmstatedctl stop)',
  );
  return kept;
}

/** A VM whose config has errors now and whose worker died: supervised as a reload would. */
function keepBroken(registry: Registry, vm: string, spec: VmConfig | null): VmEntry {
  const file = spec?.file ?? guessedConfigFile(registry, vm);
  const kept = registry.addEntry(bareConfig(vm, file));
  kept.configBroken = true;
  registry.log.warn({ vm, file }, 'config has errors; the running VM is kept under a new worker');
  return kept;
}

/**
 * The connection to a worker was lost while the registry runs: reconnect if the worker still
 * answers, adopt its bhyve if only bhyve is left, else record that the worker is gone.
 */
export async function recoverLostWorker(registry: Registry, entry: VmEntry, workerPid: number): Promise<void> {
  // A dying worker removes its record as it exits: give it a moment before reading the record.
  const deadline = Date.now() + 1000;
  while (isProcessAlive(workerPid) && Date.now() < deadline) await sleep(50);
  const file = workerFiles(registry.options.rundir, entry.name).record;
  const found = readRecord(file);
  const record = found !== null && found.workerPid === workerPid && found.vm === entry.name ? found : lostRecord(registry, entry, workerPid);
  if ((await reattachRecord(registry, record, entry.status.pid)) !== 'gone') return;
  registry.workerGone(entry, workerPid);
}

/** What the registry itself knows of a worker that left no record. */
function lostRecord(registry: Registry, entry: VmEntry, workerPid: number): WorkerRecord {
  const socket = workerFiles(registry.options.rundir, entry.name).socket;
  return { vm: entry.name, workerPid, bhyvePid: entry.status.pid, run: null, socket, startedAt: '', restartHistory: [] };
}
