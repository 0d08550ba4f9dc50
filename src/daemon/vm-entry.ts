/** The registry's record of one configured VM: its last good config, last known status, worker. */
import path from 'node:path';
import type { VmConfig } from '../config/types.js';
import type { VmEvent, VmState, VmStatus } from '../protocol/types.js';
import type { BhyveRun } from '../../workers/api.js';
import { vmStatus } from '../protocol/vm-status.js';
import { LifecycleQueue } from './lifecycle-queue.js';
import type { WorkerHandle } from './worker-handle.js';

/** States in which the VM has no bhyve and needs no worker. */
export const AT_REST: ReadonlySet<VmState> = new Set<VmState>(['stopped', 'failed']);

/** The status of a VM that has no worker, from its config and what the registry last knew. */
export function restingStatus(config: VmConfig, previous?: VmStatus): VmStatus {
  const state: VmState = previous !== undefined && previous.state === 'failed' ? 'failed' : 'stopped';
  return vmStatus(config, {
    state,
    pid: null,
    workerPid: null,
    restarts: previous?.restarts ?? 0,
    lastExit: previous?.lastExit ?? null,
    failureReason: state === 'failed' ? (previous?.failureReason ?? null) : null,
    since: previous?.since ?? new Date().toISOString(),
    configPending: false,
  });
}

/**
 * The last known status with one of its worker's events applied, until the worker's next status
 * replaces it: a state with its time and failure reason, and bhyve's pid from its launch and exit,
 * so that `status` never shows a VM running without the pid of its bhyve.
 */
export function statusAfter(status: VmStatus, event: VmEvent): VmStatus {
  switch (event.type) {
    case 'state':
      return { ...status, state: event.state, since: event.time, failureReason: event.failureReason ?? status.failureReason };
    case 'launch':
      return { ...status, pid: event.pid };
    case 'exit':
      return status.pid === event.pid ? { ...status, pid: null, lastExit: event.exit } : status;
    default:
      return status;
  }
}

/** What `status` shows as the description of a VM kept running after its config was removed. */
export const CONFIG_REMOVED_NOTE = 'config removed: kept running until stopped';

/** A stand-in config for a running VM whose config file has errors (see VmEntry.configBroken). */
export function configFromStatus(status: VmStatus): VmConfig {
  return bareConfig(status.name, status.configFile, status);
}

/** A config with defaults, for a VM of which only the name, file and (maybe) last status are known. */
export function bareConfig(name: string, file: string, status?: VmStatus): VmConfig {
  const dir = path.dirname(file);
  return {
    name,
    file,
    dir,
    configfile: '',
    scriptpath: dir,
    ...(status?.owner != null ? { owner: status.owner } : {}),
    ...(status?.group != null ? { group: status.group } : {}),
    ...(status?.description != null ? { description: status.description } : {}),
    ...(status?.os != null ? { os: status.os } : {}),
    ...(status?.osversion != null ? { osversion: status.osversion } : {}),
    maxrestart: 3,
    maxrestarttime: 30,
    autostart: status?.autostart ?? false,
    startorder: 0,
    startdelay: 0,
    stoptimeout: 60,
    hooktimeout: 120,
    settletime: 1,
  };
}

export class VmEntry {
  worker: WorkerHandle | null = null;
  /** A bhyve run found without a worker whose take-over failed: `stop` takes it over again. */
  orphan: { run: BhyveRun; restartHistory: number[]; config: VmConfig } | null = null;
  /**
   * Set for a VM found running at start whose config has errors: its config here is a stand-in
   * made from the worker's status, good for supervising, not for starting it again.
   */
  configBroken = false;
  private removalRequested = false;
  /** See keepWithoutConfig(). */
  private removedStandIn: VmConfig | null = null;
  private currentStatus: VmStatus;
  /** statusJson's cache: the JSON of `status`, and what it was made from. */
  private encoded: { from: VmStatus; configRemoved: boolean; json: string } | null = null;
  /** Its lifecycle operations, one after another (see LifecycleQueue). */
  readonly queue: LifecycleQueue;

  constructor(
    public config: VmConfig,
    status: VmStatus = restingStatus(config),
  ) {
    this.currentStatus = status;
    this.queue = new LifecycleQueue(config.name);
  }

  get name(): string {
    return this.config.name;
  }

  /** The last known status; a VM kept without a config says so in its description. */
  get status(): VmStatus {
    return this.configRemoved ? { ...this.currentStatus, description: CONFIG_REMOVED_NOTE } : this.currentStatus;
  }

  /** Status objects are replaced, never changed in place: statusJson relies on it. */
  set status(status: VmStatus) {
    this.currentStatus = status;
  }

  /**
   * `JSON.stringify(this.status)`, encoded again only when the status was replaced (or the
   * config removed): a `status` request for 200 VMs joins these instead of encoding 200 objects.
   */
  get statusJson(): string {
    const configRemoved = this.configRemoved;
    const cached = this.encoded;
    if (cached !== null && cached.from === this.currentStatus && cached.configRemoved === configRemoved) return cached.json;
    const json = JSON.stringify(this.status);
    this.encoded = { from: this.currentStatus, configRemoved, json };
    return json;
  }

  /**
   * Set once a reload removed the VM from the configs (it is being stopped, then dropped), and
   * while a VM runs on without a config: a reload leaves it alone and it cannot be started.
   */
  get removing(): boolean {
    return this.removalRequested || this.configRemoved;
  }

  set removing(value: boolean) {
    this.removalRequested = value;
  }

  /**
   * Marks a VM found running at start whose config is gone: its config here is a stand-in, kept
   * (and visible, and stoppable) until it stops, then dropped. A reload that finds its config
   * again replaces the stand-in, and it is an ordinary VM again.
   */
  keepWithoutConfig(): void {
    this.removedStandIn = this.config;
  }

  /** True while the VM runs on a stand-in config because its config was removed. */
  get configRemoved(): boolean {
    return this.removedStandIn !== null && this.config === this.removedStandIn;
  }

  /** Records a state the registry decided itself (no worker to ask). */
  setRestingState(state: 'stopped' | 'failed', failureReason: string | null): void {
    this.status = {
      ...this.status,
      state,
      pid: null,
      workerPid: null,
      failureReason,
      since: new Date().toISOString(),
      ...(state === 'stopped' ? { restarts: 0 } : {}),
    };
  }
}
