/** A VM's status record: the part its config decides, joined with what its supervisor knows. */
import type { VmConfig } from '../config/types.js';
import type { VmStatus } from './types.js';

/** The VmStatus fields that come from the VM's config rather than from its supervisor. */
export type ConfigStatusField = 'name' | 'owner' | 'group' | 'description' | 'os' | 'osversion' | 'autostart' | 'configFile';

/** What the supervisor (the worker, or the registry for a VM without one) knows of a VM. */
export type RuntimeStatus = Omit<VmStatus, ConfigStatusField>;

/**
 * A new status record for `config` with `runtime`'s fields. The key order is VmStatus's, so the
 * JSON a `status` request shows keeps its field order whoever built the record.
 */
export function vmStatus(config: VmConfig, runtime: RuntimeStatus): VmStatus {
  return {
    name: config.name,
    state: runtime.state,
    pid: runtime.pid,
    workerPid: runtime.workerPid,
    restarts: runtime.restarts,
    lastExit: runtime.lastExit,
    failureReason: runtime.failureReason,
    owner: config.owner ?? null,
    group: config.group ?? null,
    description: config.description ?? null,
    os: config.os ?? null,
    osversion: config.osversion ?? null,
    autostart: config.autostart,
    since: runtime.since,
    configFile: config.file,
    configPending: runtime.configPending,
  };
}
