/**
 * Driving a real worker process in tests: a temp dir with a VM config, stand-in `bhyve` and
 * `bhyvectl` shell scripts, recording hook scripts, spawnWorker + connectWorker, and cleanup of
 * every process started (worker, bhyve, hooks' leftovers).
 *
 * The stand-in bhyve reads `plan` (one behaviour per line, the Nth launch takes line N, the last
 * line repeats):
 *   run            runs until SIGTERM, then "powers off" (exit 1)
 *   ignore-term    ignores SIGTERM; exits 1 once `bhyvectl --force-poweroff` ran
 *   deaf           ignores SIGTERM and the forced power-off (only SIGKILL ends it)
 *   exit:CODE:SEC  exits with CODE after SEC seconds
 *   kill:SIG:SEC   kills itself with SIG after SEC seconds
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { VmConfig } from '../../src/config/types.js';
import type { VmEvent, VmState } from '../../src/protocol/types.js';
import { connectWorker, type RemoteConnection } from '../../src/rpc/client.js';
import type { WorkerApi, WorkerSpec } from '../../workers/api.js';
import { isProcessAlive as isAlive } from '../../src/shared/process.js';
import { spawnWorker } from '../../workers/spawn.js';
import { waitFor } from '../helpers/vmstated-env.js';

const BHYVE_STAND_IN = `#!/bin/sh
d=$(dirname "$0")
n=$(( $(cat "$d/launches" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$d/launches"
echo "$$" >> "$d/bhyve.pids"
rm -f "$d/poweroff"
plan=$(sed -n "\${n}p" "$d/plan")
[ -n "$plan" ] || plan=$(tail -n 1 "$d/plan")
echo "stand-in bhyve launch $n: $*"
echo "plan $plan" >&2
case "$plan" in
run)
  trap 'echo "ACPI power button: powering off"; exit 1' TERM
  echo "guest ready"
  while :; do sleep 0.05; done ;;
ignore-term)
  trap 'echo "SIGTERM ignored by the guest"' TERM
  echo "guest ready"
  while [ ! -f "$d/poweroff" ]; do sleep 0.05; done
  echo "forced power-off"; exit 1 ;;
deaf)
  trap 'echo "SIGTERM ignored by the guest"' TERM
  echo "guest ready"
  while :; do sleep 0.05; done ;;
exit:*)
  code=$(echo "$plan" | cut -d: -f2); delay=$(echo "$plan" | cut -d: -f3)
  sleep "$delay"; exit "$code" ;;
kill:*)
  sig=$(echo "$plan" | cut -d: -f2); delay=$(echo "$plan" | cut -d: -f3)
  sleep "$delay"; kill -s "$sig" $$ ;;
esac
`;

const BHYVECTL_STAND_IN = `#!/bin/sh
d=$(dirname "$0")
echo "$*" >> "$d/bhyvectl.calls"
case "$*" in
*--force-poweroff*) touch "$d/poweroff"; exit 0 ;;
*--destroy*) echo "vm_open: $1 could not be opened: No such file or directory" >&2; exit 1 ;;
esac
exit 0
`;

/** A hook that records its name, reason and environment, then runs `body` (default: exit 0). */
export function recordingHook(body = 'exit 0'): string {
  return `#!/bin/sh
echo "$VMSTATED_STATE reason=$VMSTATED_REASON pid=\${VMSTATED_PID:-} exit=\${VMSTATED_EXIT:-} vm=$VMSTATED_VM configdir=$VMSTATED_CONFIGDIR cwd=$(pwd)" >> "${'$'}VMSTATED_CONFIGDIR/../hooks.log"
${body}
`;
}

export const ALL_HOOKS: VmState[] = ['start_network', 'start_storage', 'running', 'restarting', 'restarted', 'stopping', 'stop_storage', 'stop_network', 'stopped', 'failed'];

export interface VmSetup {
  name?: string;
  /** Stand-in bhyve plan lines. */
  plan?: string[];
  /** Hook scripts by state (file contents). */
  hooks?: Partial<Record<VmState, string>>;
  config?: Partial<VmConfig>;
  /** Use this as the bhyve program instead of the stand-in. */
  bhyve?: string;
  /** The body of the bhyvectl script, instead of the stand-in's (it runs from the test's root). */
  bhyvectl?: string;
}

export class VmFixture {
  readonly root: string;
  readonly vmDir: string;
  readonly rundir: string;
  readonly logdir: string;
  readonly vm: VmConfig;
  readonly bhyve: string;
  readonly bhyvectl: string;
  connection: RemoteConnection<WorkerApi> | null = null;
  workerPid: number | null = null;
  private readonly seen: VmEvent[] = [];
  private seq = 0;

  constructor(t: TestContext, setup: VmSetup = {}) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'vmstated-worker-'));
    const name = setup.name ?? 'web';
    this.vmDir = path.join(this.root, name);
    this.rundir = path.join(this.root, 'run');
    this.logdir = path.join(this.root, 'log');
    fs.mkdirSync(this.vmDir);
    fs.writeFileSync(path.join(this.vmDir, 'bhyve_config'), '# stand-in bhyve config\nhostbridge=hostbridge\n');
    this.bhyve = setup.bhyve ?? this.script('bhyve', BHYVE_STAND_IN);
    this.bhyvectl = this.script('bhyvectl', setup.bhyvectl ?? BHYVECTL_STAND_IN);
    fs.writeFileSync(path.join(this.root, 'plan'), (setup.plan ?? ['run']).join('\n') + '\n');
    for (const [state, body] of Object.entries(setup.hooks ?? {})) {
      fs.writeFileSync(path.join(this.vmDir, state), body, { mode: 0o755 });
    }
    this.vm = {
      name,
      file: path.join(this.vmDir, 'config'),
      dir: this.vmDir,
      configfile: path.join(this.vmDir, 'bhyve_config'),
      scriptpath: this.vmDir,
      maxrestart: 3,
      maxrestarttime: 30,
      autostart: false,
      startorder: 0,
      startdelay: 0,
      stoptimeout: 0.5,
      hooktimeout: 1,
      // the settle rule is off unless a test is about it (workers/settle.ts)
      settletime: 0,
      ...setup.config,
    };
    t.after(() => this.cleanup());
  }

  spec(extra: Partial<WorkerSpec> = {}): WorkerSpec {
    return { vm: this.vm, rundir: this.rundir, logdir: this.logdir, bhyve: this.bhyve, bhyvectl: this.bhyvectl, verbose: false, ...extra };
  }

  async spawn(extra: Partial<WorkerSpec> = {}): Promise<Remote> {
    const { pid, socket } = await spawnWorker(this.spec(extra));
    this.workerPid = pid;
    this.connection = await connectWorker(socket, 2_000);
    return this.connection.api;
  }

  get api(): Remote {
    if (!this.connection) throw new Error('no worker');
    return this.connection.api;
  }

  /** Events seen so far (from `events()`), fetching the new ones first. */
  async events(): Promise<VmEvent[]> {
    const batch = await this.api.events(this.seq, 0);
    this.seq = batch.seq;
    this.seen.push(...batch.events);
    return this.seen;
  }

  /** Waits (bounded) until `count` events matching `predicate` have been seen; returns them. */
  async waitForEvents(predicate: (event: VmEvent) => boolean, count: number, timeoutMs: number, what = 'event'): Promise<VmEvent[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.seen.filter(predicate);
      if (found.length >= count) return found;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${count} x ${what}; saw: ${this.describeSeen()}`);
      const batch = await this.api.events(this.seq, Math.min(remaining, 500));
      this.seq = batch.seq;
      this.seen.push(...batch.events);
    }
  }

  async waitForEvent(predicate: (event: VmEvent) => boolean, timeoutMs: number, what = 'event'): Promise<VmEvent> {
    return (await this.waitForEvents(predicate, 1, timeoutMs, what))[0];
  }

  /** Waits for the `nth` entry into `state`. */
  async waitForState(state: VmState, timeoutMs: number, nth = 1): Promise<VmEvent> {
    const entries = await this.waitForEvents((event) => event.type === 'state' && event.state === state && event.previous !== state, nth, timeoutMs, `state ${state}`);
    return entries[nth - 1];
  }

  /** The sequence of states entered, in order (re-announcements of the same state left out). */
  async states(): Promise<VmState[]> {
    return (await this.events()).flatMap((event) => (event.type === 'state' && event.state !== event.previous ? [event.state] : []));
  }

  describeSeen(): string {
    return this.seen.map((event) => (event.type === 'state' ? event.state : event.type)).join(' ');
  }

  /** Hook invocations recorded by `recordingHook`, one line each. */
  hookLines(): string[] {
    return readLines(path.join(this.root, 'hooks.log'));
  }

  hooksRun(): string[] {
    return this.hookLines().map((line) => line.split(' ')[0]);
  }

  bhyvectlCalls(): string[] {
    return readLines(path.join(this.root, 'bhyvectl.calls'));
  }

  bhyvePids(): number[] {
    return readLines(path.join(this.root, 'bhyve.pids')).map(Number);
  }

  launches(): number {
    return this.bhyvePids().length;
  }

  /** Waits until the stand-in guest has set up its SIGTERM handling (`count` launches so far). */
  guestReady(count = 1, timeoutMs = 6_000): Promise<void> {
    return until(() => (this.logText().match(/stdout: guest ready/g) ?? []).length >= count, timeoutMs, 'the guest to be ready');
  }

  logText(): string {
    const file = path.join(this.logdir, `${this.vm.name}.log`);
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  }

  script(name: string, body: string): string {
    const file = path.join(this.root, name);
    fs.writeFileSync(file, body, { mode: 0o755 });
    return file;
  }

  /** Kill whatever is left: the worker, every stand-in bhyve, recorded stray pids. */
  async cleanup(): Promise<void> {
    this.connection?.close();
    if (this.workerPid) killQuietly(this.workerPid);
    // A bhyve launched just before the worker died writes its pid a moment later: look twice.
    for (const pause of [0, 200]) {
      await new Promise((resolve) => setTimeout(resolve, pause));
      const pids = [this.workerPid, ...this.bhyvePids(), ...readLines(path.join(this.root, 'stray.pids')).map(Number)].filter((pid): pid is number => !!pid);
      for (const pid of pids) killQuietly(pid);
      await until(() => pids.every((pid) => !isAlive(pid)), 3_000, 'the test processes to die').catch(() => {});
    }
    fs.rmSync(this.root, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  }
}

export type Remote = RemoteConnection<WorkerApi>['api'];

/** Alive, and not a zombie (this container's init reaps orphans late or never). */
export { isProcessAlive as isAlive } from '../../src/shared/process.js';

/** Bounded wait for a condition: the shared waitFor, with a boolean condition. */
export async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  await waitFor(what, () => (condition() ? true : undefined), timeoutMs);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function readLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((line) => line !== '');
  } catch {
    return [];
  }
}
