/**
 * Reload (SIGHUP, `reload`): re-read the configs. New VMs appear (autostart ones start), removed
 * VMs are stopped and dropped, a changed config applies at once to a VM at rest and at the next
 * start to a running one, and a VM whose config is now broken keeps its last good config.
 */
import { isDeepStrictEqual } from 'node:util';
import { clearIdentityCache } from '../auth/authorize.js';
import type { ConfigDirLoad, VmConfig } from '../config/types.js';
import type { Registry } from './registry.js';
import { withTimeout } from './timeout.js';
import { restingStatus } from './vm-entry.js';
import { ANSWER_BEFORE_MS } from './worker-liveness.js';
import type { VmEntry } from './vm-entry.js';

export interface ReloadSummary {
  added: string[];
  removed: string[];
  changed: string[];
  /** VMs whose config is now broken: they keep their last good config. */
  kept: string[];
  /** New VMs not loaded because their config has errors (the file, when no name could be read). */
  rejected: string[];
  errors: number;
  warnings: number;
}

export async function loadConfigs(configdir: string): Promise<ConfigDirLoad> {
  const { loadConfigDir } = await import('../config/load.js');
  return loadConfigDir(configdir);
}

/** VMs (by name) and files that the load rejected because of errors. */
export function brokenSets(load: ConfigDirLoad): { names: Set<string>; files: Set<string> } {
  const names = new Set<string>();
  const files = new Set<string>();
  for (const rejected of load.rejected ?? []) {
    files.add(rejected.file);
    if (rejected.name !== undefined) names.add(rejected.name);
  }
  for (const problem of load.problems) {
    if (problem.severity !== 'error') continue;
    files.add(problem.file);
    if (problem.vm !== undefined) names.add(problem.vm);
  }
  return { names, files };
}

/** Serializes reloads: a SIGHUP during a reload runs after it. */
let reloading: Promise<unknown> = Promise.resolve();

export function reload(registry: Registry): Promise<ReloadSummary> {
  const next = reloading.then(() => reloadNow(registry));
  reloading = next.catch(() => {});
  return next;
}

async function reloadNow(registry: Registry): Promise<ReloadSummary> {
  const log = registry.log;
  // Users and groups may have changed in NSS/LDAP, which the account-file check does not see.
  clearIdentityCache();
  const load = await loadConfigs(registry.options.configdir);
  const broken = brokenSets(load);
  const fresh = new Map(load.vms.map((config) => [config.name, config]));
  const summary: ReloadSummary = {
    added: [],
    removed: [],
    changed: [],
    kept: [],
    rejected: [],
    errors: load.problems.filter((p) => p.severity === 'error').length,
    warnings: load.problems.filter((p) => p.severity === 'warning').length,
  };
  registry.problems = load.problems;
  for (const problem of load.problems) {
    log[problem.severity === 'error' ? 'error' : 'warn'](
      { file: problem.file, line: problem.line, column: problem.column, vm: problem.vm },
      problem.message,
    );
  }

  const added: VmEntry[] = [];
  const handedOver: Array<Promise<void>> = [];
  for (const [name, config] of fresh) {
    const entry = registry.get(name);
    if (entry === undefined) {
      added.push(registry.addEntry(config));
      summary.added.push(name);
      registry.emit({ type: 'vm-added', vm: name, time: new Date().toISOString() });
    } else if (!isDeepStrictEqual(entry.config, config)) {
      summary.changed.push(name);
      handedOver.push(applyChangedConfig(registry, entry, config));
    }
  }
  await Promise.all(handedOver);
  for (const entry of [...registry.entries.values()]) {
    if (fresh.has(entry.name) || entry.removing) continue;
    if (broken.names.has(entry.name) || broken.files.has(entry.config.file)) {
      summary.kept.push(entry.name);
      log.warn({ vm: entry.name, file: entry.config.file }, 'config is broken; keeping the last good config');
      continue;
    }
    summary.removed.push(entry.name);
    void removeEntry(registry, entry);
  }
  summary.rejected = rejectedNewVms(registry, load);
  registry.emit({ type: 'config', problems: load.problems.length, time: new Date().toISOString() });
  log.info(summary, 'configs reloaded');
  if (added.length > 0) void registry.autostart(added);
  return summary;
}

/** The rejected configs that belong to no VM the daemon has (those keep their last good config). */
function rejectedNewVms(registry: Registry, load: ConfigDirLoad): string[] {
  const knownFiles = new Set([...registry.entries.values()].map((entry) => entry.config.file));
  return (load.rejected ?? [])
    .filter((rejected) => !(rejected.name !== undefined && registry.get(rejected.name) !== undefined) && !knownFiles.has(rejected.file))
    .map((rejected) => rejected.name ?? rejected.file);
}

async function applyChangedConfig(registry: Registry, entry: VmEntry, config: VmConfig): Promise<void> {
  entry.config = config;
  entry.configBroken = false;
  const worker = entry.worker;
  if (worker === null) {
    entry.status = restingStatus(config, entry.status);
    return;
  }
  try {
    // A worker that hangs must not hold the reload (and every other VM's new config) with it: the
    // call stays sent, and the worker applies it if it ever answers again.
    await withTimeout(worker.api.updateConfig(config), ANSWER_BEFORE_MS, `the worker (pid ${worker.pid}) of ${entry.name}`);
    await worker.refreshStatus();
  } catch (err) {
    registry.log.error({ vm: entry.name, workerPid: worker.pid, err }, 'cannot pass the new config to the worker');
  }
}

/** Stops a VM whose config was removed, then drops its record. */
async function removeEntry(registry: Registry, entry: VmEntry): Promise<void> {
  entry.removing = true;
  try {
    const outcome = await registry.stopOwn(entry.name, 'stop');
    if (!outcome.ok) registry.log.error({ vm: entry.name, error: outcome.error }, 'stopping a removed VM failed');
  } finally {
    if (entry.worker === null && registry.get(entry.name) === entry) {
      registry.entries.delete(entry.name);
      registry.emit({ type: 'vm-removed', vm: entry.name, time: new Date().toISOString() });
    }
  }
}
