/**
 * The registry: one record per configured VM, a worker process per active VM, commands forwarded
 * to workers, their events re-broadcast. It never waits on bhyve or a hook itself.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { ConfigProblem, VmConfig } from '../config/types.js';
import type { TransitionReason, VmEvent, VmStatus } from '../protocol/types.js';
import type { BhyveRun, CommandOutcome, WorkerSpec } from '../../workers/api.js';
import { appendVmLogLine, transitionText } from '../../workers/vm-log.js';
import { CommandError, SupersededError } from './command-error.js';
import type { Logger } from './logger.js';
import { startTiers, tierDelayMs } from './order.js';
import { recoverLostWorker } from './reattach.js';
import { RestingStateStore } from './resting-state.js';
import type { RestingRecord } from './resting-state.js';
import { TimeoutError, withTimeout } from './timeout.js';
import { AT_REST, VmEntry, restingStatus, statusAfter } from './vm-entry.js';
import { SILENT_AFTER_MS, WorkerHandle } from './worker-handle.js';
import type { WorkerListener } from './worker-handle.js';
import { launchWorker } from './worker-link.js';
import { WorkerNotAnswering, noteWorkerSilent, whileWorkerAnswers } from './worker-liveness.js';
import type { WorkerLink } from './worker-link.js';

export interface RegistryOptions {
  configdir: string;
  rundir: string;
  logdir: string;
  bhyve: string;
  bhyvectl: string;
  verbose: boolean;
  log: Logger;
}

// The request handlers import them from here, with the registry that throws them.
export { CommandError, SupersededError };

export class Registry implements WorkerListener {
  readonly entries = new Map<string, VmEntry>();
  problems: ConfigProblem[] = [];
  /** Names of VMs whose config was rejected at the last load (they may still run). */
  brokenNames = new Set<string>();
  /** 'event' (VmEvent): everything a worker reports, plus the registry's own events. */
  readonly bus = new EventEmitter();
  private stopping = false;
  readonly log: Logger;
  /** The saved state of VMs at rest, so that a restart keeps a failed VM failed. */
  private readonly restingState: RestingStateStore;
  private restingSaveQueued = false;

  constructor(readonly options: RegistryOptions) {
    this.log = options.log;
    this.bus.setMaxListeners(0);
    this.restingState = new RestingStateStore(options.rundir, options.log);
  }

  get shuttingDown(): boolean {
    return this.stopping;
  }

  /**
   * Adds records for a freshly loaded config set (the initial load), with what the previous
   * registry saved about VMs at rest; saved VMs that are no longer configured are dropped.
   */
  addConfigs(vms: readonly VmConfig[], problems: ConfigProblem[]): void {
    const saved = this.restingState.load();
    for (const config of vms) {
      const record = saved.get(config.name);
      const entry = new VmEntry(config, record === undefined ? undefined : restingStatus(config, { ...restingStatus(config), ...record }));
      this.entries.set(config.name, entry);
      if (record?.state === 'failed') {
        this.log.warn({ vm: config.name, failureReason: record.failureReason, since: record.since }, `${config.name}: still failed (saved state); run failreset to start it again`);
      }
    }
    this.problems = problems;
    this.saveRestingState();
  }

  /**
   * Saves what matters about every VM at rest (the write is atomic and follows in the background),
   * once per turn of the event loop: 200 VMs starting or stopping at once change state hundreds of
   * times, and each snapshot walks every VM.
   */
  saveRestingState(): void {
    if (this.restingSaveQueued) return;
    this.restingSaveQueued = true;
    setImmediate(() => this.saveRestingStateNow());
  }

  /** Resolves once the latest state of every VM at rest is on disk (or failed and was logged). */
  private flushRestingState(): Promise<void> {
    if (this.restingSaveQueued) this.saveRestingStateNow();
    return this.restingState.flush();
  }

  private saveRestingStateNow(): void {
    if (!this.restingSaveQueued) return;
    this.restingSaveQueued = false;
    const vms: Record<string, RestingRecord> = {};
    for (const entry of this.entries.values()) {
      const { state, failureReason, lastExit, since, restarts } = entry.status;
      if (state === 'stopped' || state === 'failed') vms[entry.name] = { state, failureReason, lastExit, since, restarts };
    }
    this.restingState.save(vms);
  }

  get(name: string): VmEntry | undefined {
    return this.entries.get(name);
  }

  mustGet(name: string): VmEntry {
    const entry = this.entries.get(name);
    if (entry === undefined) throw new CommandError('NOT_FOUND', `no VM named "${name}"`);
    return entry;
  }

  statuses(): VmStatus[] {
    return [...this.entries.values()].map((entry) => entry.status);
  }

  emit(event: VmEvent): void {
    if (event.type === 'state') {
      const { vm, state, previous, reason, failureReason } = event;
      this.log[state === 'failed' ? 'error' : 'info']({ vm, previous, reason, ...(failureReason ? { failureReason } : {}) }, `${vm}: ${state}`);
    }
    if (event.type === 'state' || event.type === 'vm-added' || event.type === 'vm-removed') this.saveRestingState();
    this.bus.emit('event', event);
  }

  specFor(config: VmConfig, extra: Partial<WorkerSpec> = {}): WorkerSpec {
    const { rundir, logdir, bhyve, bhyvectl, verbose } = this.options;
    return { vm: config, rundir, logdir, bhyve, bhyvectl, verbose, ...extra };
  }

  // ---- lifecycle commands -------------------------------------------------------------------

  start(name: string): Promise<CommandOutcome> {
    const entry = this.mustGet(name);
    this.refuseWhileShuttingDown();
    if (entry.removing) throw new CommandError('INVALID_STATE', `VM "${name}": removed from the configs; it cannot be started`);
    return entry.queue.command(() => this.startNow(entry));
  }

  private refuseWhileShuttingDown(why = 'it starts no VM now'): void {
    if (this.stopping) throw new CommandError('INVALID_STATE', `vmstated is shutting down; ${why}`);
  }

  /** The body of a start, run in the VM's queue slot. */
  private async startNow(entry: VmEntry): Promise<CommandOutcome> {
    if (this.stopping) throw new CommandError('INVALID_STATE', 'vmstated is shutting down; it starts no VM now');
    if (entry.worker === null && entry.configBroken) {
      throw new CommandError('INVALID_STATE', `VM "${entry.name}": its config ${entry.config.file} has errors; fix them and reload first`);
    }
    if (entry.worker === null && entry.status.state === 'failed') {
      throw new CommandError('INVALID_STATE', `VM "${entry.name}": in failure mode (${entry.status.failureReason ?? 'see its log'}); run failreset first`);
    }
    let worker: WorkerHandle;
    try {
      worker = await this.ensureWorker(entry);
    } catch (err) {
      return this.workerFailed(entry, err);
    }
    return this.settle(entry, await this.call(entry, () => worker.api.start()));
  }

  /**
   * A client's stop ends the commands waiting on the VM (not the one that runs; a waiting stop it
   * joins, lifecycle-queue.ts): whatever they would do, the stop undoes, and it is the admin's way
   * out of a queue someone filled.
   */
  stop(name: string): Promise<CommandOutcome> {
    const entry = this.mustGet(name);
    this.refuseWhileShuttingDown('it stops every VM itself');
    const ended = entry.queue.endWaitingCommands(new SupersededError(`VM "${name}": superseded by a stop before it ran`), { spareStops: true });
    if (ended > 0) this.log.info({ vm: name, ended }, `${name}: a stop superseded ${ended} waiting command${ended === 1 ? '' : 's'}`);
    return entry.queue.command(() => this.stopNow(entry, 'stop'), { isStop: true });
  }

  /** The registry's own stop (the shutdown's, a VM a reload removed): no client's command refuses or ends it. */
  stopOwn(name: string, reason: 'stop' | 'shutdown'): Promise<CommandOutcome> {
    const entry = this.mustGet(name);
    return entry.queue.internal(() => this.stopNow(entry, reason));
  }

  /** The body of a stop, run in the VM's queue slot. */
  private async stopNow(entry: VmEntry, reason: 'stop' | 'shutdown'): Promise<CommandOutcome> {
    // A bhyve left without a worker (its take-over failed) is taken over again, to be stopped.
    if (entry.worker === null && entry.orphan !== null) await this.adoptBhyve(entry, entry.orphan.run, entry.orphan.restartHistory, entry.orphan.config);
    const worker = entry.worker;
    if (worker === null) return { ok: entry.orphan === null, status: entry.status, ...(entry.orphan !== null ? { error: entry.status.failureReason ?? 'bhyve runs without a worker' } : {}) };
    return this.settle(entry, await this.call(entry, () => worker.api.stop(reason)));
  }

  /** restart of a VM that is at rest starts it (as service(8) restart would). */
  restart(name: string): Promise<CommandOutcome> {
    const entry = this.mustGet(name);
    if (entry.worker === null) return this.start(name);
    this.refuseWhileShuttingDown();
    return entry.queue.command(async () => {
      const worker = entry.worker;
      // The worker went away while the restart waited in line: start afresh.
      if (worker === null) return this.startNow(entry);
      return this.settle(entry, await this.call(entry, () => worker.api.restart()));
    });
  }

  failreset(name: string): Promise<CommandOutcome> {
    const entry = this.mustGet(name);
    this.refuseWhileShuttingDown('it resets no VM now');
    return entry.queue.command(async () => {
      const worker = entry.worker;
      if (worker !== null) {
        const outcome = await this.call(entry, () => worker.api.failreset());
        if (!outcome.ok) throw new CommandError('INVALID_STATE', `VM "${name}": ${outcome.error ?? 'not failed'}`);
        return this.settle(entry, outcome);
      }
      if (entry.status.state !== 'failed') {
        throw new CommandError('INVALID_STATE', `VM "${name}": ${entry.status.state}, not failed: nothing to reset`);
      }
      if (entry.orphan !== null) throw new CommandError('INVALID_STATE', `VM "${name}": bhyve pid ${entry.orphan.run.bhyvePid} still runs without a worker; stop it first`);
      this.setResting(entry, 'stopped', null, 'stop');
      const status = entry.status;
      this.dropIfUnconfigured(entry);
      return { ok: true, status };
    });
  }

  /**
   * Calls the worker; a lost connection or a worker that does not answer (worker-liveness.ts)
   * becomes a failed outcome instead of a hang. The overall bound is generous: every hook at its
   * timeout, plus the stop escalation.
   */
  private async call(entry: VmEntry, action: () => Promise<CommandOutcome>): Promise<CommandOutcome> {
    const { stoptimeout, hooktimeout, settletime } = entry.config;
    const boundMs = (stoptimeout + settletime + 8 * hooktimeout + 30) * 1000;
    try {
      return await withTimeout(whileWorkerAnswers(entry, this.log, action), boundMs, 'its worker');
    } catch (err) {
      // The VM's name is added where the error reaches a client (commands.ts: `VM "web": ...`).
      const answerless = err instanceof TimeoutError || err instanceof WorkerNotAnswering;
      const message = answerless ? err.message : `its worker stopped answering: ${(err as Error).message}`;
      return { ok: false, status: entry.status, error: message };
    }
  }

  /** Records the outcome; a VM that came to rest gives its worker back. */
  private async settle(entry: VmEntry, outcome: CommandOutcome): Promise<CommandOutcome> {
    if (entry.worker !== null) entry.status = outcome.status;
    if (AT_REST.has(entry.status.state) && entry.worker !== null) await this.releaseWorker(entry);
    return { ...outcome, status: entry.status };
  }

  private workerFailed(entry: VmEntry, err: unknown): CommandOutcome {
    const reason = `cannot start a worker: ${(err as Error).message}`;
    this.log.error({ vm: entry.name, err }, 'worker spawn failed');
    this.setResting(entry, 'failed', reason, 'failure');
    return { ok: false, status: entry.status, error: reason };
  }

  /** A state change the registry makes itself (no worker): logged in the VM log like a worker's. */
  private setResting(entry: VmEntry, state: 'stopped' | 'failed', failureReason: string | null, reason: TransitionReason): void {
    const previous = entry.status.state;
    entry.setRestingState(state, failureReason);
    const logFile = path.join(this.options.logdir, `${entry.name}.log`);
    try {
      appendVmLogLine(logFile, 'vmstated', transitionText(previous, state, reason, failureReason ? `: ${failureReason}` : ''));
    } catch (err) {
      this.log.warn({ vm: entry.name, err }, `cannot write the VM log ${logFile}`);
    }
    const event: VmEvent = { type: 'state', vm: entry.name, state, previous, reason, time: entry.status.since };
    if (failureReason !== null) event.failureReason = failureReason;
    this.emit(event);
  }

  // ---- workers ------------------------------------------------------------------------------

  private async ensureWorker(entry: VmEntry): Promise<WorkerHandle> {
    if (entry.worker !== null) return entry.worker;
    const { pid, link } = await launchWorker(this.specFor(entry.config));
    return this.adoptLink(entry, pid, link, false);
  }

  /** Takes a connected worker into the registry and starts consuming its events. */
  async adoptLink(entry: VmEntry, pid: number, link: WorkerLink, skipPast: boolean): Promise<WorkerHandle> {
    const handle = new WorkerHandle(entry.name, pid, link, this, this.log);
    entry.worker = handle;
    try {
      await handle.begin(skipPast);
    } catch (err) {
      entry.worker = null;
      handle.detach();
      throw err;
    }
    this.log.info({ vm: entry.name, workerPid: pid, bhyvePid: entry.status.pid, state: entry.status.state }, 'worker attached');
    return handle;
  }

  /** Lets a VM's worker go once the VM is at rest (a stopped or failed VM has no worker). */
  async releaseWorker(entry: VmEntry): Promise<void> {
    const worker = entry.worker;
    if (worker === null) return;
    if (!(await worker.release())) return;
    if (entry.worker === worker) entry.worker = null;
    entry.status = { ...entry.status, pid: null, workerPid: null };
    this.saveRestingState();
    this.log.debug({ vm: entry.name, workerPid: worker.pid }, 'worker released');
    this.dropIfUnconfigured(entry);
  }

  /** A VM kept running without a config is dropped once it has stopped (a failed one stays, to show why). */
  private dropIfUnconfigured(entry: VmEntry): void {
    if (!entry.configRemoved || entry.worker !== null || entry.status.state !== 'stopped' || this.entries.get(entry.name) !== entry) return;
    this.entries.delete(entry.name);
    this.log.info({ vm: entry.name }, 'a VM kept without a config has stopped; dropped');
    this.emit({ type: 'vm-removed', vm: entry.name, time: new Date().toISOString() });
  }

  onEvents(handle: WorkerHandle, events: VmEvent[]): void {
    const entry = this.entries.get(handle.vm);
    for (const event of events) {
      if (entry !== undefined && entry.worker === handle) entry.status = statusAfter(entry.status, event);
      this.emit(event);
    }
    // A VM that came to rest by itself (guest poweroff, failure) gives its worker back.
    if (entry !== undefined && entry.worker === handle && events.some((e) => e.type === 'state' && AT_REST.has(e.state))) {
      void entry.queue.internal(async () => {
        if (entry.worker !== handle) return;
        try {
          await handle.refreshStatus();
        } catch {
          return;
        }
        if (AT_REST.has(entry.status.state)) await this.releaseWorker(entry);
      });
    }
  }

  onStatus(handle: WorkerHandle, status: VmStatus): void {
    const entry = this.entries.get(handle.vm);
    if (entry !== undefined && entry.worker === handle) entry.status = status;
  }

  onSilent(handle: WorkerHandle): void {
    const entry = this.entries.get(handle.vm);
    if (entry !== undefined && entry.worker === handle) noteWorkerSilent(entry, handle, SILENT_AFTER_MS, this.log);
  }

  onLost(handle: WorkerHandle): void {
    const entry = this.entries.get(handle.vm);
    if (entry === undefined || entry.worker !== handle) return;
    entry.worker = null;
    this.log.error({ vm: entry.name, workerPid: handle.pid, bhyvePid: entry.status.pid }, 'worker connection lost');
    void entry.queue.internal(async () => {
      try {
        await recoverLostWorker(this, entry, handle.pid);
      } catch (err) {
        this.log.error({ vm: entry.name, err }, 'recovering from a lost worker failed');
      }
    });
  }

  /** The worker exited and left no bhyve behind. */
  workerGone(entry: VmEntry, workerPid: number): void {
    if (!AT_REST.has(entry.status.state)) {
      this.setResting(entry, 'failed', `its worker (pid ${workerPid}) exited unexpectedly`, 'failure');
    } else {
      entry.status = { ...entry.status, pid: null, workerPid: null };
      this.saveRestingState();
      this.dropIfUnconfigured(entry);
    }
  }

  /**
   * A bhyve run whose worker died (checked by workers/run-check.ts): a new worker takes it over
   * (never a second bhyve for one VM), and keeps counting the restart window from the dead
   * worker's history (from its record). `config` is what the new worker runs with (for a
   * stand-in entry: the config bhyve ran with). When that fails, a `stop` tries again.
   */
  async adoptBhyve(entry: VmEntry, run: BhyveRun, restartHistory: number[] = [], config = entry.config): Promise<void> {
    const bhyvePid = run.bhyvePid;
    try {
      const { pid, link } = await launchWorker(this.specFor(config, { adopt: run, restartHistory }));
      entry.orphan = null;
      await this.adoptLink(entry, pid, link, false);
      this.log.warn({ vm: entry.name, bhyvePid, keeperPid: run.keeperPid, workerPid: pid, restarts: restartHistory.length }, 'adopted a bhyve whose worker had died');
    } catch (err) {
      this.log.error({ vm: entry.name, bhyvePid, err }, 'cannot adopt bhyve');
      entry.orphan = { run, restartHistory, config };
      entry.setRestingState('failed', `bhyve pid ${bhyvePid} runs without a worker and could not be taken over (vmstatedctl stop tries again): ${(err as Error).message}`);
      entry.status = { ...entry.status, pid: bhyvePid };
      this.saveRestingState();
    }
  }

  // ---- autostart and shutdown ---------------------------------------------------------------

  /** Starts the given (default: every autostart) VMs by startorder tiers, waiting startdelay after each. */
  async autostart(entries: VmEntry[] = [...this.entries.values()]): Promise<void> {
    const candidates = entries.filter((e) => e.config.autostart && e.worker === null && e.status.state === 'stopped');
    for (const tier of startTiers(candidates)) {
      if (this.stopping) return;
      this.log.info({ startorder: tier[0]!.config.startorder, vms: tier.map((e) => e.name) }, 'autostart');
      await Promise.all(
        tier.map(async (entry) => {
          try {
            const outcome = await this.start(entry.name);
            if (!outcome.ok) this.log.error({ vm: entry.name, error: outcome.error }, 'autostart failed');
          } catch (err) {
            this.log.error({ vm: entry.name, err }, 'autostart failed');
          }
        }),
      );
      const delay = tierDelayMs(tier);
      if (delay > 0 && !this.stopping) await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /**
   * Shutdown: stop every VM in reverse start order (parallel within a tier; the stop escalation
   * is the worker's), or with keepVms leave them running under their workers.
   */
  async shutdown(keepVms: boolean): Promise<void> {
    this.stopping = true;
    this.endWaitingCommands();
    if (keepVms) {
      for (const entry of this.entries.values()) entry.worker?.detach();
      await this.flushRestingState();
      return;
    }
    for (const tier of startTiers([...this.entries.values()]).reverse()) {
      const active = tier.filter((entry) => entry.worker !== null);
      if (active.length > 0) this.log.info({ startorder: tier[0]!.config.startorder, vms: active.map((e) => e.name) }, 'stopping');
      await Promise.all(
        tier.map(async (entry) => {
          try {
            const outcome = await this.stopOwn(entry.name, 'shutdown');
            if (!outcome.ok) this.log.error({ vm: entry.name, error: outcome.error }, 'stop at shutdown failed');
          } catch (err) {
            this.log.error({ vm: entry.name, err }, 'stop at shutdown failed');
          }
        }),
      );
    }
    for (const entry of this.entries.values()) entry.worker?.detach();
    await this.flushRestingState();
  }

  /**
   * At shutdown, the commands waiting on every VM end at once (their callers get the error), not
   * one by one as each VM's turn comes: one line in the log says how many.
   */
  private endWaitingCommands(): void {
    let ended = 0;
    const vms: string[] = [];
    for (const entry of this.entries.values()) {
      const count = entry.queue.endWaitingCommands(new SupersededError(`VM "${entry.name}": dropped before it ran: vmstated is shutting down`));
      if (count > 0) vms.push(entry.name);
      ended += count;
    }
    if (ended > 0) this.log.warn({ ended, vms }, `shutting down: ${ended} waiting command${ended === 1 ? '' : 's'} dropped`);
  }

  /** A new record, e.g. from a reload; it needs no worker until it starts. */
  addEntry(config: VmConfig): VmEntry {
    const entry = new VmEntry(config, restingStatus(config));
    this.entries.set(config.name, entry);
    return entry;
  }
}
