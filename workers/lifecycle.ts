/**
 * One VM's state machine (DESIGN.md section 3). Commands and bhyve exits go through the mailbox
 * and run one at a time; `status()` and `events()` answer at once, whatever runs.
 * Every job ends with the VM settled: stopped, running or failed.
 */
import { isDeepStrictEqual } from 'node:util';
import { generatedConfigPath } from '../src/config/generated.js';
import type { VmConfig } from '../src/config/types.js';
import type { BhyveExit, TransitionReason, VmEvent, VmState, VmStatus } from '../src/protocol/types.js';
import { vmStatus } from '../src/protocol/vm-status.js';
import { startedAtTime } from '../src/shared/process-table.js';
import type { BhyveRun, CommandOutcome, WorkerApi, WorkerSpec } from './api.js';
import { classifyExit, explainExit } from './bhyve-exit.js';
import { adoptBhyve, prepareBhyve, type BhyveContext, type BhyveProcess, type PendingBhyve } from './bhyve-process.js';
import { destroyVmInstance } from './bhyvectl.js';
import { EventFeed } from './event-feed.js';
import { refuseForeignBhyve } from './foreign-instance.js';
import { findHook, hookEnvironment, runHook, type HookResult } from './hooks.js';
import { Mailbox } from './mailbox.js';
import { RestartWindow } from './restart-window.js';
import type { Adoption } from './run-check.js';
import { SequenceFailure, type FailureDetails } from './sequence-failure.js';
import { noteLaunch, settle, settleOrFail } from './settle.js';
import { stopBhyve } from './stop-escalation.js';
import { VmLog, transitionText } from './vm-log.js';

/** What a launch needs, started ahead so it runs while the vmm instance is destroyed. */
interface LaunchPreparation {
  generated: Promise<void>;
  bhyve: Promise<PendingBhyve>;
}

export interface LifecycleHost {
  /** Writes generatedConfigPath(vm), the file bhyve's shell is forked with before the write ends. */
  writeGeneratedConfig(vm: VmConfig): Promise<void>;
  /** The bhyve run changed (launch, output consumed, exit): the worker record follows it. */
  onBhyveRun(run: BhyveRun | null): void;
  /** `release()` accepted: the worker should exit. */
  onRelease(): void;
}

/** Extra fields a worker's status carries beyond VmStatus. */
export interface WorkerStatus extends VmStatus {
  /** Set while the VM log cannot be written, in words. */
  logProblem: string | null;
}

export class VmLifecycle implements WorkerApi {
  private vm: VmConfig;
  private pendingConfig: VmConfig | null = null;
  private state: VmState = 'stopped';
  private since = new Date().toISOString();
  private bhyve: BhyveProcess | null = null;
  /** The bhyve whose exit a command is handling itself (no automatic restart for it). */
  private managedExit: BhyveProcess | null = null;
  private lastExit: BhyveExit | null = null;
  /** bhyve's pid and exit code in the current run (since the last start), for the hooks. */
  private runPid: number | null = null;
  private runExitCode: number | null = null;
  private failureReason: string | null = null;
  /** bhyve's last stderr lines when the failure was a failed start (the reply carries them). */
  private failureStderr: string[] = [];
  /** What this command's stop of bhyve tells its caller: how it was forced, a failed destroy. */
  private stopReport: Pick<CommandOutcome, 'forced' | 'destroyFailed'> = {};
  /** Whether start_network / start_storage ran and their stop_ counterpart has not yet. */
  private networkUp = false;
  private storageUp = false;
  private readonly window: RestartWindow;
  private readonly mailbox = new Mailbox();
  private readonly feed = new EventFeed();
  /** release() was accepted: the worker exits, it takes no more commands. */
  private releasing = false;
  readonly log: VmLog;

  constructor(
    private readonly spec: WorkerSpec,
    private readonly host: LifecycleHost,
  ) {
    this.vm = spec.vm;
    this.window = new RestartWindow(this.vm.maxrestart, this.vm.maxrestarttime, spec.restartHistory);
    this.log = new VmLog(`${spec.logdir}/${this.vm.name}.log`, (problem) =>
      this.emit({ type: 'log', vm: this.vm.name, problem, time: now() }),
    );
    this.log.line('vmstated', `worker ${process.pid} started for VM ${this.vm.name}`);
  }

  // ---- WorkerApi -------------------------------------------------------------------------------

  status(): WorkerStatus {
    const status = vmStatus(this.vm, {
      state: this.state,
      pid: this.bhyve?.isAlive() ? this.bhyve.pid : null,
      workerPid: process.pid,
      restarts: this.window.count(),
      lastExit: this.lastExit,
      failureReason: this.failureReason,
      since: this.since,
      configPending: this.pendingConfig !== null,
    });
    return { ...status, logProblem: this.log.problem };
  }

  start(): Promise<CommandOutcome> {
    return this.bringUp('start');
  }

  stop(reason: 'stop' | 'shutdown' = 'stop'): Promise<CommandOutcome> {
    this.noteCommand(reason === 'shutdown' ? 'stop (daemon shutdown)' : 'stop');
    return this.mailbox.post(async () => {
      // A failed VM has no bhyve and nothing to stop: that is success for a stop.
      if (this.state === 'failed') return this.bhyve === null ? this.outcome(true) : this.outcome(false, this.failureReason ?? 'bhyve is still running');
      if (this.state === 'running') await this.guarded(() => this.stopSequence(reason === 'shutdown' ? 'shutdown' : 'stop'));
      return this.outcomeFor('stopped');
    });
  }

  restart(): Promise<CommandOutcome> {
    return this.bringUp('restart');
  }

  /** start and restart: refused in failure mode; a stopped VM starts; a running one restarts for `restart` only. */
  private bringUp(command: 'start' | 'restart'): Promise<CommandOutcome> {
    if (this.releasing) return Promise.resolve(this.exitingOutcome());
    this.noteCommand(command);
    return this.mailbox.post(async () => {
      if (this.state === 'failed') return this.outcome(false, `in failure mode (${this.failureReason}); run failreset first`);
      if (this.state === 'stopped') await this.guarded(() => this.startSequence());
      else if (command === 'restart') await this.guarded(() => this.commandedRestart());
      return this.outcomeFor('running');
    });
  }

  failreset(): Promise<CommandOutcome> {
    this.noteCommand('failreset');
    return this.mailbox.post(async () => {
      if (this.state !== 'failed') return this.outcome(false, `${this.state}, not failed: nothing to reset`);
      this.window.clear();
      this.failureReason = null;
      this.failureStderr = [];
      this.transition('stopped', 'stop');
      this.applyPendingConfig();
      return this.outcome(true);
    });
  }

  updateConfig(vm: VmConfig): void {
    // A re-attaching registry hands over the config it loaded: the same one is no change.
    if (this.pendingConfig === null && isDeepStrictEqual(vm, this.vm)) return;
    this.pendingConfig = vm;
    if ((this.state === 'stopped' || this.state === 'failed') && !this.mailbox.busy) this.applyPendingConfig();
    else this.log.line('vmstated', 'configuration changed: it applies at the next start or restart');
  }

  reopenLog(): void {
    this.log.reopen();
  }

  events(afterSeq: number, waitMs: number): Promise<{ seq: number; events: VmEvent[] }> {
    return this.feed.since(afterSeq, Math.max(0, Math.min(waitMs, 600_000)));
  }

  /**
   * Accepted when the VM is at rest (stopped or failed) with no bhyve and nothing queued; the
   * hook of that state may still be running: the worker exits once it is done.
   */
  release(): boolean {
    if (this.releasing) return true;
    if (this.bhyve?.isAlive() || (this.state !== 'stopped' && this.state !== 'failed') || this.mailbox.size > 1) return false;
    this.releasing = true;
    void this.mailbox.post(async () => {
      this.log.line('vmstated', `worker ${process.pid} released (VM ${this.state})`);
      this.host.onRelease();
    });
    return true;
  }

  /** Restart history for a next worker. */
  restartHistory(): number[] {
    return this.window.snapshot();
  }

  bhyvePid(): number | null {
    return this.bhyve?.isAlive() ? this.bhyve.pid : null;
  }

  // ---- sequences -------------------------------------------------------------------------------

  private async startSequence(): Promise<void> {
    this.applyPendingConfig();
    this.failureReason = null;
    this.failureStderr = [];
    this.runPid = null;
    this.runExitCode = null;
    await refuseForeignBhyve(this.vm.name, this.bhyve?.pid ?? null, this.spec.bhyve);
    this.networkUp = true;
    await this.step('start_network', 'start');
    this.storageUp = true;
    await this.step('start_storage', 'start');
    await settleOrFail(await this.launch('start'), this.vm.settletime, 'start');
    await this.step('running', 'start');
  }

  private async stopSequence(reason: TransitionReason): Promise<void> {
    await this.step('stopping', reason, { announcesForce: true });
    await this.stopBhyveAndDestroy();
    await this.stopStorageAndNetwork(reason, true);
    await this.step('stopped', reason);
  }

  private async commandedRestart(): Promise<void> {
    await this.step('restarting', 'restart', { announcesForce: true });
    await this.stopBhyveAndDestroy();
    this.applyPendingConfig(); // as a start would: a restart picks up a changed config
    const bhyve = await this.launch('restart');
    await this.step('restarted', 'restart');
    await settleOrFail(bhyve, this.vm.settletime, 'restart');
    await this.step('running', 'restart');
  }

  /** bhyve exited without being asked to (a mailbox job). */
  private async onUnexpectedExit(bhyve: BhyveProcess, exit: BhyveExit): Promise<void> {
    if (this.bhyve !== bhyve) return; // a command dealt with it in the meantime
    const kind = classifyExit(exit);
    if (kind === 'poweroff') {
      await this.guarded(async () => {
        await this.step('stopping', 'stop');
        await this.destroyAfterExit();
        await this.stopStorageAndNetwork('stop', true);
        await this.step('stopped', 'stop');
      });
      return;
    }
    const reason = kind === 'reboot' ? 'reboot' : 'crash';
    await this.guarded(async () => {
      await this.step('restarting', reason);
      // bhyvectl is started first: the shell for the relaunch is forked while it runs.
      const destroyed = this.destroyAfterExit();
      const preparation = this.prepareLaunch();
      try {
        await destroyed;
      } catch (error) {
        cancelLaunch(preparation);
        throw error;
      }
      if (!this.window.tryRecord()) {
        cancelLaunch(preparation);
        throw new SequenceFailure(
          `restarted too often: ${exit.meaning} would be restart ${this.vm.maxrestart + 1} within ${this.vm.maxrestarttime} s (maxrestart ${this.vm.maxrestart})`,
        );
      }
      this.log.line('vmstated', `automatic restart ${this.window.count()} of ${this.window.describe()}`);
      const bhyve = await this.launch(reason, preparation);
      await this.step('restarted', reason);
      const early = await settle(bhyve, this.vm.settletime);
      // An exit within the settle time is handled now, as any exit: each job ends with the VM settled.
      if (early === null) await this.step('running', reason);
      else await this.onUnexpectedExit(bhyve, early);
    });
  }

  /** Runs a sequence; if a step fails, the VM goes into failure mode. */
  private async guarded(sequence: () => Promise<void>): Promise<void> {
    try {
      await sequence();
    } catch (error) {
      const failure = error instanceof SequenceFailure ? error : null;
      await this.failureMode(failure?.message ?? `internal error: ${(error as Error).stack ?? String(error)}`, failure?.details);
    }
  }

  /** [make sure bhyve is gone, destroy] -> stop_storage, stop_network if they are up -> failed. */
  private async failureMode(reason: string, details: FailureDetails = {}): Promise<void> {
    this.failureReason = reason;
    this.failureStderr = details.bhyveStderr ?? [];
    this.log.line('vmstated', `FAILURE: ${reason}`);
    if (this.bhyve?.isAlive()) {
      const bhyve = this.bhyve;
      this.managedExit = bhyve;
      const { exit } = await stopBhyve(bhyve, this.stopPlan());
      if (exit === null) this.failureReason = `${reason}; bhyve pid ${bhyve.pid} could not be killed`;
    }
    if (!this.bhyve?.isAlive()) this.bhyve = null;
    if (details.keepInstance) this.log.line('vmstated', `vmm instance ${this.vm.name} left alone: it is not ours to destroy`);
    else await destroyVmInstance(this.spec.bhyvectl, this.vm.name, this.log);
    await this.stopStorageAndNetwork('failure', false);
    const failed = await this.enter('failed', 'failure', { failureReason: this.failureReason });
    if (failed.ran && !failed.ok) this.log.line('vmstated', `hook failed ${failed.outcome} (ignored: the VM is failed already)`);
  }

  /** stop_storage and stop_network, each only if its start_ hook ran. */
  private async stopStorageAndNetwork(reason: TransitionReason, fatal: boolean): Promise<void> {
    if (this.storageUp) {
      this.storageUp = false;
      await this.cleanupStep('stop_storage', reason, fatal);
    }
    if (this.networkUp) {
      this.networkUp = false;
      await this.cleanupStep('stop_network', reason, fatal);
    }
  }

  private async cleanupStep(state: VmState, reason: TransitionReason, fatal: boolean): Promise<void> {
    if (fatal) return this.step(state, reason);
    const result = await this.enter(state, reason);
    if (!result.ok) this.log.line('vmstated', `hook ${state} failed (${result.outcome}) during failure cleanup: logged, not fatal`);
  }

  // ---- steps -------------------------------------------------------------------------------------

  /** Enter a state and run its hook; a failing hook fails the sequence. */
  private async step(state: VmState, reason: TransitionReason, options: { announcesForce?: boolean } = {}): Promise<void> {
    const result = await this.enter(state, reason, options);
    if (!result.ok) throw new SequenceFailure(`hook ${state} failed: ${result.outcome}`);
  }

  private async enter(
    state: VmState,
    reason: TransitionReason,
    options: { announcesForce?: boolean; failureReason?: string } = {},
  ): Promise<HookResult> {
    // A graceful stop follows this state's hook: announce when the force comes. Without a hook,
    // SIGTERM goes out now; with one, once the hook is done (a second event then says when).
    const willSignal = options.announcesForce === true && this.bhyve?.isAlive() === true;
    const hookExists = willSignal && findHook(this.vm.scriptpath, state) !== null;
    this.transition(state, reason, {
      failureReason: options.failureReason,
      forceAt: willSignal && !hookExists ? this.forceAt() : undefined,
    });
    const result = await runHook({ state, scriptDir: this.vm.scriptpath, env: hookEnvironment(this.vm, state, reason, { pid: this.runPid, exitCode: this.runExitCode }), timeoutMs: this.vm.hooktimeout * 1000, log: this.log });
    if (result.ran) {
      this.log.line('vmstated', `hook ${state} ${result.ok ? 'succeeded' : 'FAILED'}: ${result.outcome} in ${result.durationMs} ms`);
      this.emit({ type: 'hook', vm: this.vm.name, hook: state, exitCode: result.exitCode, signal: result.signal, durationMs: result.durationMs, ok: result.ok, time: now() });
    }
    if (hookExists && result.ok && this.bhyve?.isAlive()) {
      this.emit({ type: 'state', vm: this.vm.name, state, previous: state, reason, time: now(), forceAt: this.forceAt() });
    }
    return result;
  }

  private transition(state: VmState, reason: TransitionReason, extra: { failureReason?: string; forceAt?: string } = {}): void {
    const previous = this.state;
    this.state = state;
    this.since = now();
    const details = [extra.failureReason ? `: ${extra.failureReason}` : '', extra.forceAt ? `; force at ${extra.forceAt}` : ''].join('');
    this.log.line('vmstated', transitionText(previous, state, reason, details));
    const event: VmEvent = { type: 'state', vm: this.vm.name, state, previous, reason, time: this.since };
    if (extra.failureReason !== undefined) event.failureReason = extra.failureReason;
    if (extra.forceAt !== undefined) event.forceAt = extra.forceAt;
    this.emit(event);
  }

  /**
   * [write .generated, destroy the stale vmm instance, launch bhyve]. A relaunch follows a destroy
   * already (after the exit), so only a cold start destroys here. The config file is written and
   * the shell that becomes bhyve is forked while bhyvectl runs; bhyve itself is exec'd after it.
   */
  private async launch(reason: TransitionReason, prepared?: LaunchPreparation): Promise<BhyveProcess> {
    const destroyed = reason === 'start' ? destroyVmInstance(this.spec.bhyvectl, this.vm.name, this.log) : null;
    const preparation = prepared ?? this.prepareLaunch();
    let pending: PendingBhyve;
    try {
      await destroyed;
      await preparation.generated;
      pending = await preparation.bhyve;
    } catch (error) {
      cancelLaunch(preparation);
      throw error;
    }
    this.host.onBhyveRun(pending.run()); // recorded before bhyve starts: a worker never loses track of it
    const bhyve = pending.go();
    this.log.line('vmstated', `launched bhyve pid ${bhyve.pid} (${reason}): ${bhyve.argv.join(' ')}`);
    this.emit({ type: 'launch', vm: this.vm.name, pid: bhyve.pid, time: now() });
    noteLaunch(bhyve);
    this.watch(bhyve);
    return bhyve;
  }

  /** Starts writing `<configfile>.generated` and forking bhyve's shell; both promises are marked handled. */
  private prepareLaunch(): LaunchPreparation {
    const generated = this.host.writeGeneratedConfig(this.vm).catch((error: Error) => {
      throw new SequenceFailure(`cannot write the generated bhyve config for ${this.vm.configfile}: ${error.message}`);
    });
    const bhyve = prepareBhyve(this.spec.bhyve, generatedConfigPath(this.vm), this.bhyveContext()).catch((error: Error) => {
      throw new SequenceFailure(`bhyve cannot be launched: ${error.message}`);
    });
    generated.catch(() => {});
    bhyve.catch(() => {});
    return { generated, bhyve };
  }

  /** Takes over the bhyve run of a worker that died (checked by workers/run-check.ts); before any command. */
  adopt(adoption: Adoption): void {
    const bhyve = adoptBhyve(adoption, this.bhyveContext());
    this.state = 'running';
    // Running since its bhyve started, not since this worker did: UPTIME survives a worker's death.
    const started = adoption.run.bhyveStartedAt === null ? null : startedAtTime(adoption.run.bhyveStartedAt);
    if (started !== null) this.since = started.toISOString();
    this.networkUp = true;
    this.storageUp = true;
    this.watch(bhyve);
  }

  private watch(bhyve: BhyveProcess): void {
    this.bhyve = bhyve;
    this.runPid = bhyve.pid;
    this.host.onBhyveRun(bhyve.run());
    void bhyve.exited.then((raw) => {
      const exit = explainExit(raw, bhyve.stderrTail());
      this.lastExit = exit;
      this.runExitCode = exit.code;
      const how = exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code ?? 'unknown'}`;
      this.log.line('vmstated', `bhyve pid ${bhyve.pid} exited: ${how} (${exit.meaning})`);
      this.emit({ type: 'exit', vm: this.vm.name, exit, pid: bhyve.pid, time: now() });
      if (this.bhyve === bhyve) this.host.onBhyveRun(null);
      if (this.managedExit !== bhyve) void this.mailbox.post(() => this.onUnexpectedExit(bhyve, exit));
    });
  }

  private async stopBhyveAndDestroy(): Promise<void> {
    const bhyve = this.bhyve;
    if (bhyve !== null) {
      this.managedExit = bhyve;
      const stopped = await stopBhyve(bhyve, this.stopPlan());
      if (stopped.forced !== null) this.stopReport.forced = stopped.forced;
      if (stopped.exit === null) throw new SequenceFailure(`bhyve pid ${bhyve.pid} did not exit, even after SIGKILL`);
    }
    const destroyFailure = await this.destroyAfterExit();
    if (destroyFailure !== null) this.stopReport.destroyFailed = `bhyvectl --destroy failed: ${destroyFailure} (the VM's memory may stay reserved)`;
  }

  /** Resolves to null once the vmm instance is destroyed, else to how bhyvectl failed. */
  private async destroyAfterExit(): Promise<string | null> {
    this.bhyve = null;
    return destroyVmInstance(this.spec.bhyvectl, this.vm.name, this.log);
  }

  private bhyveContext(): BhyveContext {
    const onRunChange = (bhyve: BhyveProcess): void => {
      if (this.bhyve === bhyve) this.host.onBhyveRun(bhyve.run());
    };
    return { rundir: this.spec.rundir, name: this.vm.name, log: this.log, onRunChange };
  }

  private stopPlan() {
    return { name: this.vm.name, bhyvectl: this.spec.bhyvectl, stoptimeoutMs: this.vm.stoptimeout * 1000, log: this.log };
  }

  private forceAt(): string {
    return new Date(Date.now() + this.vm.stoptimeout * 1000).toISOString();
  }

  // ---- helpers -----------------------------------------------------------------------------------

  private applyPendingConfig(): void {
    if (this.pendingConfig === null) return;
    this.vm = this.pendingConfig;
    this.pendingConfig = null;
    this.window.configure(this.vm.maxrestart, this.vm.maxrestarttime);
    this.log.line('vmstated', `configuration from ${this.vm.file} applied`);
  }

  private noteCommand(command: string): void {
    const waiting = this.mailbox.busy ? ' (waits for the current operation to finish)' : '';
    this.log.line('vmstated', `command: ${command}; VM is ${this.state}${waiting}`);
  }

  private exitingOutcome(): CommandOutcome {
    return this.outcome(false, `the worker of ${this.vm.name} is exiting (released); start a new one`);
  }

  private outcomeFor(wanted: VmState): CommandOutcome {
    if (this.state === wanted) return this.outcome(true);
    const outcome = this.outcome(false, this.failureReason ?? `${this.vm.name} is ${this.state}`);
    return this.failureStderr.length > 0 ? { ...outcome, bhyveStderr: this.failureStderr } : outcome;
  }

  private outcome(ok: boolean, error?: string): CommandOutcome {
    const report = this.stopReport;
    this.stopReport = {};
    return { ok, status: this.status(), ...(error !== undefined && { error }), ...report };
  }

  private emit(event: VmEvent): void {
    this.feed.push(event);
  }
}

function now(): string {
  return new Date().toISOString();
}

/** The launch is not going ahead: the shell waiting to become bhyve exits without starting it. */
function cancelLaunch(preparation: LaunchPreparation): void {
  void preparation.bhyve.then((pending) => pending.cancel(), () => {});
}
