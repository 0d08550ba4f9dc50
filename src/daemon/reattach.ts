/**
 * Re-attach after a registry restart or crash: workers keep running without us. Each
 * `<rundir>/<vm>.worker.json` names a worker; a live one is connected again (same bhyve, same
 * state), a dead one whose bhyve still runs is replaced by a worker that adopts that bhyve, and
 * a record whose worker and bhyve are both gone is removed. Never a second bhyve for one VM.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { WorkerRecord } from '../../workers/api.js';
import { isProcessAlive } from './pidfile.js';
import type { Registry } from './registry.js';
import { configFromStatus } from './vm-entry.js';
import type { VmEntry } from './vm-entry.js';
import { withTimeout } from './timeout.js';
import { connectToWorker } from './worker-link.js';
import type { WorkerLink } from './worker-link.js';

const RECORD_SUFFIX = '.worker.json';

function readRecord(file: string): WorkerRecord | null {
  try {
    const record = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<WorkerRecord>;
    if (typeof record.vm !== 'string' || typeof record.workerPid !== 'number' || typeof record.socket !== 'string') return null;
    const history = Array.isArray(record.restartHistory) ? record.restartHistory.filter((time): time is number => Number.isFinite(time)) : [];
    return { vm: record.vm, workerPid: record.workerPid, bhyvePid: record.bhyvePid ?? null, socket: record.socket, startedAt: record.startedAt ?? '', restartHistory: history };
  } catch {
    return null;
  }
}

function removeStale(file: string, record: WorkerRecord | null): void {
  fs.rmSync(file, { force: true });
  if (record !== null) fs.rmSync(record.socket, { force: true });
}

export async function reattachWorkers(registry: Registry): Promise<void> {
  const { rundir } = registry.options;
  const log = registry.log;
  let names: string[];
  try {
    names = fs.readdirSync(rundir).filter((name) => name.endsWith(RECORD_SUFFIX));
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
        // Its config was removed while we were away: stop it, as a reload would.
        log.warn({ vm: record.vm, workerPid: record.workerPid }, 'a worker runs a VM that is no longer configured; stopping it');
        const config = (await withTimeout(link.api.status(), 5000, 'status')).configFile;
        await link.api.stop('stop');
        await withTimeout(link.api.release(), 5000, 'release');
        link.close();
        log.info({ vm: record.vm, configFile: config }, 'stopped an unconfigured VM');
        return 'gone';
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
  if (entry === undefined) {
    log.error({ vm: record.vm, bhyvePid }, 'bhyve of an unconfigured VM runs without a worker; left alone, stop it by hand');
    return 'gone';
  }
  await registry.adoptBhyve(entry, bhyvePid, record.restartHistory ?? []);
  return 'adopted';
}

/**
 * The connection to a worker was lost while the registry runs: reconnect if the worker still
 * answers, adopt its bhyve if only bhyve is left, else record that the worker is gone.
 */
export async function recoverLostWorker(registry: Registry, entry: VmEntry, workerPid: number): Promise<void> {
  // A dying worker removes its record as it exits: give it a moment before reading the record.
  const deadline = Date.now() + 1000;
  while (isProcessAlive(workerPid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const file = path.join(registry.options.rundir, `${entry.name}${RECORD_SUFFIX}`);
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
