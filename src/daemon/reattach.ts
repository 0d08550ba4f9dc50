/**
 * Re-attach after a registry restart or crash: workers keep running without us. Each
 * `<rundir>/<vm>.worker.json` names a worker; a live one is connected again (same bhyve, same
 * state), a dead one whose bhyve still runs is replaced by a worker that adopts that bhyve, and
 * a record whose worker and bhyve are both gone is removed. Never a second bhyve for one VM.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { WorkerRecord, WorkerSpec } from '../../workers/api.js';
import { WORKER_RECORD_SUFFIX, workerFiles } from '../../workers/worker-files.js';
import { VM_NAME } from '../config/keys.js';
import type { VmConfig } from '../config/types.js';
import type { VmStatus } from '../protocol/types.js';
import { isProcessAlive } from '../shared/process.js';
import { MAX_STATE_BYTES, readRegularFileSync } from '../shared/safe-read.js';
import type { Registry } from './registry.js';
import { AT_REST, CONFIG_REMOVED_NOTE, bareConfig, configFromStatus } from './vm-entry.js';
import type { VmEntry } from './vm-entry.js';
import { withTimeout } from './timeout.js';
import { connectToWorker } from './worker-link.js';
import type { WorkerLink } from './worker-link.js';


/**
 * A worker record, if it is one: it names the VM its file is named after, pids are real pids
 * (never 0 or negative, which kill(2) reads as process groups), and the socket is the one that VM's
 * worker uses, whatever the file says (a removed stale record takes its socket with it).
 */
function readRecord(file: string): WorkerRecord | null {
  const vm = path.basename(file).slice(0, -WORKER_RECORD_SUFFIX.length);
  try {
    const record = JSON.parse(readRegularFileSync(file, { limit: MAX_STATE_BYTES }).toString('utf8')) as Partial<WorkerRecord> | null;
    if (!VM_NAME.test(vm) || record?.vm !== vm || !isPid(record.workerPid) || !(record.bhyvePid === undefined || record.bhyvePid === null || isPid(record.bhyvePid))) return null;
    const history = Array.isArray(record.restartHistory) ? record.restartHistory.filter((time): time is number => Number.isFinite(time)) : [];
    const startedAt = typeof record.startedAt === 'string' ? record.startedAt : '';
    return { vm, workerPid: record.workerPid, bhyvePid: record.bhyvePid ?? null, socket: workerFiles(path.dirname(file), vm).socket, startedAt, restartHistory: history };
  } catch {
    return null;
  }
}

function isPid(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 1;
}

function removeStale(file: string, record: WorkerRecord | null): void {
  for (const stale of record === null ? [file] : [file, record.socket]) {
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
      const record = readRecord(file);
      if (record === null) {
        log.warn({ file }, 'removing an unreadable worker record');
        removeStale(file, null);
        return;
      }
      try {
        await reattachRecord(registry, file, record);
      } catch (err) {
        log.error({ vm: record.vm, file, err }, 're-attach failed');
      }
    }),
  );
}

export type ReattachOutcome = 'attached' | 'adopted' | 'gone';

/**
 * One worker record: connect to its worker, or adopt its bhyve, or remove it. `knownBhyvePid` is
 * the registry's own idea of the bhyve pid, for a record written before bhyve was launched.
 */
export async function reattachRecord(registry: Registry, file: string, record: WorkerRecord, knownBhyvePid: number | null = null): Promise<ReattachOutcome> {
  const log = registry.log;
  const entry = registry.get(record.vm);
  if (isProcessAlive(record.workerPid)) {
    let link: WorkerLink | null = null;
    try {
      link = await connectToWorker(record.socket);
      if (entry === undefined && registry.brokenNames.has(record.vm)) {
        // Its config has errors now: keep supervising the running VM, as a reload would.
        const status = await withTimeout(link.api.status(), 5000, 'status');
        const kept = registry.addEntry(configFromStatus(status));
        kept.configBroken = true;
        log.warn({ vm: record.vm, file: status.configFile }, 'config has errors; the running VM is kept under its worker');
        await registry.adoptLink(kept, record.workerPid, link, true);
        return 'attached';
      }
      if (entry === undefined) {
        const status = await withTimeout(link.api.status(), 5000, 'status');
        // Its config was removed while we were away; if it is not running, let the worker go.
        if (AT_REST.has(status.state) && status.pid === null && (await withTimeout(link.api.release(), 5000, 'release'))) {
          link.close();
          log.info({ vm: record.vm, configFile: status.configFile, state: status.state }, 'released the worker of a VM that is no longer configured');
          return 'gone';
        }
        const kept = keepWithoutConfig(registry, record.vm, status);
        await registry.adoptLink(kept, record.workerPid, link, true);
        return 'attached';
      }
      await registry.adoptLink(entry, record.workerPid, link, true);
      await withTimeout(link.api.updateConfig(entry.config), 5000, 'updateConfig');
      await entry.worker?.refreshStatus();
      return 'attached';
    } catch (err) {
      if (link === null) {
        // Nothing listens on its socket: the pid was reused by another process, or the worker is dying.
        log.warn({ vm: record.vm, workerPid: record.workerPid, err }, 'worker socket does not accept connections');
      } else {
        // It accepts but does not answer: it cannot supervise; take its bhyve over instead.
        log.error({ vm: record.vm, workerPid: record.workerPid, err }, 'worker does not answer; killing it');
        if (entry !== undefined && entry.worker?.link === link) {
          entry.worker.detach(); // taken back on purpose: not a "lost" worker to recover twice
          entry.worker = null;
        }
        link.close();
        try {
          process.kill(record.workerPid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
  }
  removeStale(file, record);
  const bhyvePid = record.bhyvePid ?? knownBhyvePid;
  if (bhyvePid === null || !isProcessAlive(bhyvePid)) {
    log.info({ vm: record.vm, workerPid: record.workerPid }, 'removed a stale worker record');
    return 'gone';
  }
  const history = record.restartHistory ?? [];
  if (entry === undefined) {
    // Never an orphan: a worker adopts it under a stand-in config, with the config it ran with.
    const spec = specConfig(registry, record.vm);
    const kept = registry.brokenNames.has(record.vm) ? keepBroken(registry, record.vm, spec) : keepWithoutConfig(registry, record.vm, null, spec);
    await registry.adoptBhyve(kept, bhyvePid, history, spec ?? kept.config);
    return 'adopted';
  }
  await registry.adoptBhyve(entry, bhyvePid, history);
  return 'adopted';
}

/** The config a worker was started with (`<vm>.spec.json`, left behind when it was killed), or null. */
function specConfig(registry: Registry, vm: string): VmConfig | null {
  const file = workerFiles(registry.options.rundir, vm).spec;
  try {
    const spec = JSON.parse(readRegularFileSync(file, { limit: MAX_STATE_BYTES }).toString('utf8')) as Partial<WorkerSpec>;
    const config = spec.vm;
    if (config?.name !== vm || typeof config.file !== 'string' || typeof config.configfile !== 'string' || typeof config.stoptimeout !== 'number') return null;
    return config;
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
  while (isProcessAlive(workerPid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const file = workerFiles(registry.options.rundir, entry.name).record;
  const record = readRecord(file);
  const knownBhyvePid = entry.status.pid;
  if (record !== null && record.workerPid === workerPid) {
    if ((await reattachRecord(registry, file, record, knownBhyvePid)) !== 'gone') return;
  } else if (knownBhyvePid !== null && isProcessAlive(knownBhyvePid)) {
    await registry.adoptBhyve(entry, knownBhyvePid);
    return;
  }
  registry.workerGone(entry, workerPid);
}
