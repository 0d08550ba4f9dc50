/** Runs the bhyve simulator in tests: a private state directory, launched processes, bounded waits. */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { runNode, runProgram, type RunResult } from '../helpers/run.js';
import { ensureSimBootrom, simBhyvectlNodePath, simBhyvectlPath, simBhyvePath } from '../../src/bhyvesim/paths.js';
import { bootromKey } from '../../src/config/bootrom.js';
import { readVmmRecord, type VmmRecord } from '../../src/bhyvesim/record.js';

const WAIT_MS = 30_000;

export interface Exit {
  status: number | null;
  signal: NodeJS.Signals | null;
}

/** One simulated bhyve process with everything it printed so far. */
export class SimBhyve {
  stdout = '';
  stderr = '';
  readonly exit: Promise<Exit>;
  private waiters: (() => void)[] = [];

  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.received('stdout', chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.received('stderr', chunk));
    this.exit = new Promise((resolve) => child.on('close', (status, signal) => {
      resolve({ status, signal });
      this.notify();
    }));
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('bhyve-sim did not start');
    return this.child.pid;
  }

  /** Resolves once `pattern` appears on the stream; fails after a bounded wait or at exit. */
  async waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = WAIT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this[stream]);
      if (match !== null) return match[0];
      if (this.child.exitCode !== null || this.child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`no ${pattern} on ${stream} (exit ${this.child.exitCode ?? this.child.signalCode})\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The guest has booted and its SIGTERM handling is in place. */
  running(): Promise<string> {
    return this.waitFor('stdout', /guest running.*\n/);
  }

  /** Resolves with the exit; fails after a bounded wait. */
  async exited(timeoutMs = WAIT_MS): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`bhyve-sim did not exit within ${timeoutMs} ms\n${this.stderr}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exit, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private received(stream: 'stdout' | 'stderr', chunk: string): void {
    this[stream] += chunk;
    this.notify();
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** A private simulator state directory for one test, cleaned up with every process it started. */
export class SimSandbox {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  private readonly launched: SimBhyve[] = [];

  constructor(t: TestContext) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bhyvesim-test-'));
    this.env = { ...process.env, BHYVE_SIM_DIR: this.dir };
    t.after(async () => {
      for (const bhyve of this.launched) {
        if (bhyve.child.exitCode === null && bhyve.child.signalCode === null) {
          bhyve.child.kill('SIGKILL');
          await bhyve.exit;
        }
      }
      fs.rmSync(this.dir, { recursive: true, force: true });
    });
  }

  /**
   * Writes a bhyve config file in the sandbox and returns its path. It ends with a boot ROM line
   * (the stand-in ROM in the state dir; bhyve cannot boot a new instance without one) unless the
   * lines name one or `options.bootrom` is false.
   */
  config(fileName: string, lines: readonly string[], options: { bootrom?: boolean } = {}): string {
    const file = path.join(this.dir, fileName);
    const named = lines.some((line) => /^(lpc\.)?bootrom=/.test(line));
    const rom = options.bootrom === false || named ? [] : [`${bootromKey() ?? 'lpc.bootrom'}=${this.bootrom}`];
    fs.writeFileSync(file, [...lines, ...rom].map((line) => `${line}\n`).join(''));
    return file;
  }

  /** The stand-in boot ROM (made on first use). */
  get bootrom(): string {
    return ensureSimBootrom(this.dir);
  }

  /** Starts bhyve-sim with these arguments (cwd: the sandbox, so a core file would land there). */
  launch(args: readonly string[]): SimBhyve {
    const child = spawn(process.execPath, [simBhyvePath(), ...args], {
      env: this.env,
      cwd: this.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const bhyve = new SimBhyve(child);
    this.launched.push(bhyve);
    return bhyve;
  }

  /** Starts `bhyve-sim -k <file with lines> <name>`. */
  launchVm(name: string, lines: readonly string[] = []): SimBhyve {
    return this.launch(['-k', this.config(`${name}.conf`, lines), name]);
  }

  /** Runs bhyvectl-sim (the sh front end, as vmstated runs it) to completion. */
  bhyvectl(args: readonly string[], env: NodeJS.ProcessEnv = this.env): Promise<RunResult> {
    return runProgram(simBhyvectlPath(), args, { env, cwd: this.dir, timeoutMs: WAIT_MS });
  }

  /** Runs the Node implementation behind the front end (bin/bhyvectl-sim.js) to completion. */
  bhyvectlNode(args: readonly string[], env: NodeJS.ProcessEnv = this.env): Promise<RunResult> {
    return runNode(simBhyvectlNodePath(), args, { env, cwd: this.dir, timeoutMs: WAIT_MS });
  }

  /** bhyve-sim run to completion (for launches that fail at once). */
  bhyve(args: readonly string[]): Promise<RunResult> {
    return runNode(simBhyvePath(), args, { env: this.env, cwd: this.dir, timeoutMs: WAIT_MS });
  }

  record(name: string): VmmRecord | null {
    return readVmmRecord(name, this.dir);
  }
}
