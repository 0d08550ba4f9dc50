/**
 * The bhyve process of a VM, under its keeper (workers/keeper.ts): launched by this worker, or
 * taken over from a worker that died. Either way its exit status is the real one whenever the
 * keeper recorded it, and its output reaches the VM log (workers/bhyve-output.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import type { Readable } from 'node:stream';
import type { BhyveExit } from '../src/protocol/types.js';
import { readProcess, readProcesses } from '../src/shared/process-table.js';
import { isProcessAlive } from '../src/shared/process.js';
import type { BhyveRun } from './api.js';
import { OutputFollower } from './bhyve-output.js';
import { GO, exitFromStatus, keeperArgs, readExitRecord } from './keeper.js';
import { isRunsBhyve, type Adoption } from './run-check.js';
import type { VmLog } from './vm-log.js';
import { workerFiles, type WorkerFiles } from './worker-files.js';

/** A bhyve watched by its pid alone (its keeper is gone) is polled this often. */
const UNKEPT_POLL_MS = 250;
/** The record's output offsets are saved at most this often while output flows. */
const OFFSET_SAVE_MS = 1000;

/** The exit of a bhyve whose keeper did not record it: it counts as a crash. */
const UNKNOWN_EXIT: BhyveExit = { code: null, signal: null, meaning: "exit status unknown (bhyve's keeper was gone)" };

export interface BhyveProcess {
  pid: number;
  argv: string[];
  /** Resolves once, when bhyve is gone and its output is in the VM log. */
  exited: Promise<BhyveExit>;
  isAlive(): boolean;
  signal(signal: NodeJS.Signals): void;
  /** The last (at most 20) lines bhyve wrote on stderr in this run, each at most 1 KiB. */
  stderrTail(): string[];
  /** This run as the worker record keeps it (what another worker needs to take it over). */
  run(): BhyveRun;
}

/** bhyve ready to start: its keeper and the shell that becomes bhyve are forked ahead (off the relaunch's critical path). */
export interface PendingBhyve {
  pid: number;
  argv: string[];
  run(): BhyveRun;
  /** Starts bhyve now (its config file must be written by then). */
  go(): BhyveProcess;
  /** bhyve is not wanted after all: its keeper exits without starting it. */
  cancel(): void;
}

/** What a bhyve needs from the worker. */
export interface BhyveContext {
  rundir: string;
  /** The VM's name. */
  name: string;
  log: VmLog;
  /** The run's record changed (start times learned, output consumed): the worker record follows. */
  onRunChange(bhyve: BhyveProcess): void;
}

/** Why the status is unknown (a string), or bhyve's status as its keeper recorded it. */
type KeeperEnd = number | string;

class KeptBhyve implements BhyveProcess {
  readonly exited: Promise<BhyveExit>;
  private resolveExit!: (exit: BhyveExit) => void;
  private alive: boolean;
  private stdout: OutputFollower | null = null;
  private stderr: OutputFollower | null = null;
  private saveTimer: NodeJS.Timeout | null = null;

  constructor(
    private record: BhyveRun,
    private readonly context: BhyveContext,
    alive = true,
  ) {
    this.alive = alive;
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  get pid(): number {
    return this.record.bhyvePid;
  }

  get argv(): string[] {
    return this.record.argv;
  }

  isAlive(): boolean {
    return this.alive;
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.alive) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // gone in between: its end is on its way
    }
  }

  stderrTail(): string[] {
    return this.stderr?.lastLines() ?? [];
  }

  run(): BhyveRun {
    const output = { stdout: this.stdout?.consumed ?? this.record.output.stdout, stderr: this.stderr?.consumed ?? this.record.output.stderr };
    return { ...this.record, output };
  }

  /** Start times from ps, for re-attach to tell these processes from later holders of their pids. */
  async learnStartTimes(): Promise<void> {
    const { keeperPid, bhyvePid } = this.record;
    const table = await readProcesses(keeperPid === null ? [bhyvePid] : [keeperPid, bhyvePid]).catch(() => new Map());
    const keeper = keeperPid === null ? undefined : table.get(keeperPid);
    const bhyve = table.get(bhyvePid);
    this.record = { ...this.record, keeperStartedAt: keeper?.startedAt ?? this.record.keeperStartedAt, bhyveStartedAt: bhyve?.startedAt ?? this.record.bhyveStartedAt };
    this.context.onRunChange(this);
  }

  /** Copies bhyve's output into the VM log from the recorded offsets on. */
  follow(files: WorkerFiles): void {
    const { log } = this.context;
    const source = (stream: string): string => `bhyve[${this.pid}]/${stream}`;
    const progress = (now: boolean): void => this.saveOffsets(now);
    this.stdout = new OutputFollower(files.bhyveOut, source('stdout'), log, { offset: this.record.output.stdout, onProgress: progress });
    this.stderr = new OutputFollower(files.bhyveErr, source('stderr'), log, { offset: this.record.output.stderr, keepTail: true, onProgress: progress });
    this.stdout.start();
    this.stderr.start();
  }

  /** Resolves `exited` once `end` says how bhyve ended and its output is logged. */
  async endWhen(end: Promise<KeeperEnd>): Promise<void> {
    const outcome = await end;
    let exit: BhyveExit;
    if (typeof outcome === 'number') {
      exit = exitFromStatus(outcome);
    } else {
      this.context.log.line('vmstated', `${outcome}: bhyve's exit status is unknown and counts as a crash`);
      if (await this.runsWithoutKeeper()) {
        this.context.log.line('vmstated', `bhyve pid ${this.pid} runs on without its keeper; watching it by its pid`);
        while (isProcessAlive(this.pid)) await new Promise((resolve) => setTimeout(resolve, UNKEPT_POLL_MS));
      }
      exit = UNKNOWN_EXIT;
    }
    this.alive = false;
    this.stdout?.finish();
    this.stderr?.finish();
    if (this.saveTimer !== null) clearTimeout(this.saveTimer);
    this.resolveExit(exit);
  }

  /**
   * Whether this run's bhyve still runs once its keeper is gone: its keeper no longer holds its pid
   * from reuse, so it must still be the run's bhyve (workers/run-check.ts, isRunsBhyve).
   */
  private async runsWithoutKeeper(): Promise<boolean> {
    if (!this.alive || !isProcessAlive(this.pid)) return false;
    const entry = await readProcess(this.pid).catch(() => null);
    return entry !== null && isRunsBhyve(entry, this.context.name, this.record);
  }

  private saveOffsets(now: boolean): void {
    if (now) {
      if (this.saveTimer !== null) clearTimeout(this.saveTimer);
      this.saveTimer = null;
      this.context.onRunChange(this);
      return;
    }
    this.saveTimer ??= setTimeout(() => {
      this.saveTimer = null;
      this.context.onRunChange(this);
    }, OFFSET_SAVE_MS);
  }
}

/**
 * Starts bhyve's keeper, which forks the shell that will exec `<bhyve> -k <generatedFile> <name>`
 * on go(). bhyve never shares the worker's descriptors: its output goes to files in the run
 * directory (truncated here, for this run), its input is the keeper's FIFO. Rejects when it cannot
 * be started.
 */
export function prepareBhyve(bhyve: string, generatedFile: string, context: BhyveContext): Promise<PendingBhyve> {
  const argv = [bhyve, '-k', generatedFile, context.name];
  const files = workerFiles(context.rundir, context.name);
  return new Promise((resolve, reject) => {
    const unusable = unlaunchable(bhyve);
    if (unusable) {
      reject(new Error(`cannot launch ${bhyve}: ${unusable}`));
      return;
    }
    let keeper: ChildProcess;
    try {
      const output = [openOutput(files.bhyveOut), openOutput(files.bhyveErr)];
      try {
        // Its own session: a signal meant for the worker's group does not reach the guest, and
        // the keeper and bhyve outlive the worker (the next worker takes them over).
        keeper = spawn('/bin/sh', keeperArgs(files.keeperFifo, files.bhyveExit, argv), { detached: true, stdio: ['pipe', output[0], output[1], 'pipe'] });
      } finally {
        for (const fd of output) fs.closeSync(fd);
      }
    } catch (error) {
      reject(new Error(`cannot launch ${bhyve}: ${(error as Error).message}`));
      return;
    }
    // A keeper that died before go() makes the write fail: its exit tells what happened.
    keeper.stdin?.on('error', () => {});
    keeper.once('error', (error) => reject(new Error(`cannot launch ${bhyve}: ${error.message}`)));
    const keeperExit = new Promise<string>((done) =>
      keeper.once('exit', (code, signal) => done(signal !== null ? `was killed by ${signal}` : `exited with status ${code}`)),
    );
    void firstLine(keeper.stdio[3] as Readable).then((line) => {
      const pid = Number(line);
      if (keeper.pid === undefined) return;
      if (line === null || !Number.isSafeInteger(pid) || pid <= 0) {
        void keeperExit.then((how) => reject(new Error(`cannot launch ${bhyve}: its keeper ${how} before starting it: ${lastLines(files.bhyveErr)}`)));
        return;
      }
      const keeperPid = keeper.pid;
      const kept = new KeptBhyve({ bhyvePid: pid, bhyveStartedAt: null, keeperPid, keeperStartedAt: null, argv, output: { stdout: 0, stderr: 0 } }, context);
      void kept.learnStartTimes();
      resolve({
        pid,
        argv,
        run: () => kept.run(),
        go: () => {
          keeper.stdin?.end(GO);
          kept.follow(files);
          void kept.endWhen(keeperExit.then((how) => readExitRecord(files.bhyveExit, keeperPid) ?? `bhyve's keeper (pid ${keeperPid}) ${how} without recording how bhyve ended`));
          return kept;
        },
        cancel: () => keeper.stdin?.end(),
      });
    });
  });
}

/**
 * Takes over a run a dead worker left (checked by workers/run-check.ts just before): its output is
 * followed from where the last worker stopped, and its end is learned from its keeper.
 */
export function adoptBhyve(adoption: Adoption, context: BhyveContext): BhyveProcess {
  const files = workerFiles(context.rundir, context.name);
  const { run } = adoption;
  const bhyve = new KeptBhyve(run, context, adoption.kind === 'unkept' || (adoption.kind === 'kept' && adoption.bhyveRuns));
  switch (adoption.kind) {
    case 'kept':
      context.log.line('vmstated', `took over bhyve pid ${run.bhyvePid} and its keeper (pid ${run.keeperPid}) from a previous worker`);
      bhyve.follow(files);
      void bhyve.endWhen(keeperGone(files.keeperFifo, run).then(() => readExitRecord(files.bhyveExit, run.keeperPid as number) ?? `bhyve's keeper (pid ${run.keeperPid}) is gone without recording how bhyve ended`));
      break;
    case 'finished':
      context.log.line('vmstated', `bhyve pid ${run.bhyvePid} ended while no worker watched it; its keeper (pid ${run.keeperPid}) recorded how`);
      bhyve.follow(files);
      void bhyve.endWhen(Promise.resolve(adoption.status));
      break;
    case 'unkept':
      context.log.line('vmstated', `took over bhyve pid ${run.bhyvePid} from a previous worker; ${adoption.why}`);
      bhyve.follow(files);
      void bhyve.endWhen(Promise.resolve(adoption.why));
      break;
    case 'stale':
      context.log.line('vmstated', `not taking over bhyve pid ${run.bhyvePid}: ${adoption.why}`);
      void bhyve.endWhen(Promise.resolve('the run handed over is gone'));
      break;
  }
  return bhyve;
}

/**
 * Resolves when the keeper and bhyve have both closed the FIFO. A FIFO opened after its last
 * writer closed reports no end of file (FreeBSD: sys/fs/fifofs/fifo_vnops.c counts writer
 * generations from the open; Linux likewise), hence the check after the open.
 */
function keeperGone(fifo: string, run: BhyveRun): Promise<void> {
  return new Promise((resolve) => {
    let fd: number;
    try {
      fd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch {
      void pollUntilGone(run.keeperPid as number).then(resolve);
      return;
    }
    const lifeline = new net.Socket({ fd, readable: true, writable: false });
    const done = (): void => {
      lifeline.destroy();
      resolve();
    };
    lifeline.on('data', () => {});
    lifeline.once('end', done);
    lifeline.once('error', done);
    if (!isProcessAlive(run.keeperPid as number) && !isProcessAlive(run.bhyvePid)) done();
  });
}

async function pollUntilGone(pid: number): Promise<void> {
  while (isProcessAlive(pid)) await new Promise((resolve) => setTimeout(resolve, UNKEPT_POLL_MS));
}

/** bhyve's output file for this run: emptied, created 0600, appended to (see bhyve-output.ts). */
function openOutput(file: string): number {
  const { O_WRONLY, O_CREAT, O_TRUNC, O_APPEND, O_NOFOLLOW } = fs.constants;
  return fs.openSync(file, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW, 0o600);
}

/** The first line a stream carries, or null when it ends without one. */
function firstLine(stream: Readable): Promise<string | null> {
  return new Promise((resolve) => {
    let text = '';
    const finish = (line: string | null): void => {
      stream.removeAllListeners();
      stream.on('error', () => {});
      stream.destroy();
      resolve(line);
    };
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline !== -1) finish(text.slice(0, newline));
    });
    stream.once('end', () => finish(null));
    stream.once('close', () => finish(null));
    stream.once('error', () => finish(null));
  });
}

/** The end of a small file, for an error message. */
function lastLines(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-5).join('; ') || 'no message';
  } catch {
    return 'no message';
  }
}

/** Why `path` cannot be executed, or null when it can (checked here: the shell would only exit 127). */
function unlaunchable(path: string): string | null {
  try {
    fs.accessSync(path, fs.constants.X_OK);
    return fs.statSync(path).isFile() ? null : 'not a file';
  } catch (error) {
    return (error as Error).message;
  }
}
