/**
 * A throwaway vmstated installation for tests: temp config dir with VM configs (and hook scripts),
 * socket, pidfile, logs, rundir and bhyve simulator state, all under one temp directory; start
 * the daemon and wait until it serves; kill every process it left and remove the directory.
 *
 *   const env = createVmstatedEnv();
 *   t.after(() => env.destroy());
 *   env.writeVm('web', { autostart: true }, { hooks: { stopping: 'echo bye >> "$OUT"' } });
 *   await env.startDaemon();
 *   const client = await env.client();
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ControlClient } from '../../src/protocol/client.js';
import type { VmStatus } from '../../src/protocol/types.js';
import { isProcessAlive } from '../../src/shared/process.js';
import { simBhyvectlPath } from '../../src/bhyvesim/paths.js';
import { BHYVE_SIM_BIN, VMSTATED_BIN } from './paths.js';
import { runNode } from './run.js';
import type { RunResult } from './run.js';

export interface VmOptions {
  /** UCL key = value pairs written into the VM's config (strings are quoted; numbers/booleans not). */
  [key: string]: string | number | boolean | undefined;
}

export interface VmFiles {
  /** Hook scripts by state name: the body of a /bin/sh script. */
  hooks?: Record<string, string>;
  /** Extra lines for the bhyve config file (e.g. `sim.guest=reboot@1s`). */
  bhyveLines?: string[];
}

export interface VmstatedEnv {
  dir: string;
  configdir: string;
  sockpath: string;
  pidfile: string;
  logdir: string;
  rundir: string;
  simdir: string;
  /** The environment for vmstated and the simulator (BHYVE_SIM_DIR set). */
  env: NodeJS.ProcessEnv;
  /** Writes `<configdir>/<name>/config` (+ bhyve_config, hooks); returns the VM's directory. */
  writeVm(name: string, options?: VmOptions, files?: VmFiles): string;
  /** vmstated's command line for this env, plus `extra`. */
  args(extra?: readonly string[]): string[];
  /** Runs `vmstated <args>` (daemonizing unless -f) and resolves with how the parent exited. */
  runVmstated(extra?: readonly string[]): Promise<RunResult>;
  /** Starts the daemon and fails unless it exits 0 serving; returns the daemon's pid. */
  startDaemon(extra?: readonly string[]): Promise<number>;
  /** The pid in the pidfile, or null. */
  daemonPid(): number | null;
  client(): Promise<ControlClient>;
  status(vm: string): Promise<VmStatus>;
  /** Waits until `predicate(status of vm)` holds (polling the socket), up to timeoutMs. */
  waitForStatus(vm: string, predicate: (status: VmStatus) => boolean, timeoutMs?: number): Promise<VmStatus>;
  /** Reads the daemon log (empty when none yet). */
  daemonLog(): string;
  /** Reads a VM's log (empty when none yet). */
  vmLog(vm: string): string;
  /** SIGKILLs every process of this env (daemon, workers, bhyves, hooks), then removes the directory. */
  destroy(): Promise<void>;
}

function uclValue(value: string | number | boolean): string {
  return typeof value === 'string' && !/^\d+(\.\d+)?(ms|s|min|h)$/.test(value) ? JSON.stringify(value) : String(value);
}

/**
 * Pids of the processes of one test env, other than this process: those whose command line names
 * `dir` (the daemon, its workers, hook scripts, bhyve's shell) and those whose environment does.
 * A simulated bhyve retitles itself `bhyve: <vm>` (as real bhyve does), so only its environment
 * (BHYVE_SIM_DIR under `dir`, inherited from the daemon) still names the env: read where /proc
 * has it (Linux; the suite runs as root, so every process's environment is readable).
 */
export function processesMentioning(dir: string): number[] {
  const ps = spawnSync('ps', ['-ax', '-ww', '-o', 'pid=,args='], { encoding: 'utf8' });
  if (ps.status !== 0) throw new Error(`ps failed: ${ps.stderr}`);
  return ps.stdout
    .split('\n')
    .map((line) => ({ pid: Number.parseInt(line.trim(), 10), line }))
    .filter(({ pid }) => Number.isInteger(pid) && pid !== process.pid && pid !== ps.pid)
    .filter(({ pid, line }) => line.includes(dir) || environmentMentions(pid, dir))
    .map(({ pid }) => pid);
}

function environmentMentions(pid: number, dir: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'latin1').includes(dir);
  } catch {
    return false;
  }
}

/** Polls `check` until it returns a value other than undefined, or fails after timeoutMs. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** SIGKILLs a process and waits until it is gone (a zombie counts as gone). */
export async function killAndWait(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  await waitFor(`pid ${pid} to die`, () => (isProcessAlive(pid) ? undefined : true));
}

export function createVmstatedEnv(prefix = 'vmstated-test-'): VmstatedEnv {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const configdir = path.join(dir, 'conf');
  fs.mkdirSync(configdir);
  const env: VmstatedEnv = {
    dir,
    configdir,
    sockpath: path.join(dir, 'vmstated.sock'),
    pidfile: path.join(dir, 'vmstated.pid'),
    logdir: path.join(dir, 'log'),
    rundir: path.join(dir, 'run'),
    simdir: path.join(dir, 'sim'),
    env: { ...process.env, BHYVE_SIM_DIR: path.join(dir, 'sim') },

    writeVm(name, options = {}, files = {}) {
      const vmdir = path.join(configdir, name);
      fs.mkdirSync(vmdir, { recursive: true });
      const keys: VmOptions = { configfile: 'bhyve_config', stoptimeout: '5s', hooktimeout: '10s', ...options };
      const body = Object.entries(keys)
        .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
        .map(([key, value]) => `    ${key} = ${uclValue(value)};\n`)
        .join('');
      fs.writeFileSync(path.join(vmdir, 'config'), `${name} {\n${body}}\n`);
      const bhyveLines = ['lpc.com1.path=stdio', 'sim.acpi_delay=100ms', ...(files.bhyveLines ?? [])];
      fs.writeFileSync(path.join(vmdir, 'bhyve_config'), bhyveLines.join('\n') + '\n');
      for (const [hook, script] of Object.entries(files.hooks ?? {})) {
        fs.writeFileSync(path.join(vmdir, hook), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
      }
      return vmdir;
    },

    args(extra = []) {
      return [
        '-c', configdir, '-s', env.sockpath, '-p', env.pidfile, '-l', env.logdir, '-r', env.rundir,
        '--bhyve', BHYVE_SIM_BIN, '--bhyvectl', simBhyvectlPath(), ...extra,
      ];
    },

    runVmstated(extra = []) {
      return runNode(VMSTATED_BIN, env.args(extra), { env: env.env, timeoutMs: 30_000 });
    },

    async startDaemon(extra = []) {
      const result = await env.runVmstated(extra);
      if (result.status !== 0) {
        throw new Error(`vmstated exited ${result.status}: ${result.stderr}\n--- daemon log ---\n${env.daemonLog()}`);
      }
      const pid = env.daemonPid();
      if (pid === null) throw new Error('vmstated reported ready but wrote no pidfile');
      return pid;
    },

    daemonPid() {
      try {
        const pid = Number.parseInt(fs.readFileSync(env.pidfile, 'utf8'), 10);
        return Number.isInteger(pid) ? pid : null;
      } catch {
        return null;
      }
    },

    client() {
      return ControlClient.connect(env.sockpath);
    },

    async status(vm) {
      const client = await env.client();
      try {
        const [status] = await client.request<VmStatus[]>('status', { vm });
        if (status === undefined) throw new Error(`no status for ${vm}`);
        return status;
      } finally {
        client.close();
      }
    },

    async waitForStatus(vm, predicate, timeoutMs = 15_000) {
      let last: VmStatus | undefined;
      try {
        return await waitFor(`VM ${vm}`, async () => {
          last = await env.status(vm);
          return predicate(last) ? last : undefined;
        }, timeoutMs);
      } catch (err) {
        throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last)}`);
      }
    },

    daemonLog() {
      return readIfThere(path.join(env.logdir, 'vmstated.log'));
    },

    vmLog(vm) {
      return readIfThere(path.join(env.logdir, `${vm}.log`));
    },

    async destroy() {
      // Kill until none is left: a worker may launch a bhyve between a scan and its kill.
      await waitFor('every test process to die', () => {
        const pids = processesMentioning(dir);
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
        return pids.length === 0 ? true : undefined;
      }, 10_000).catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return env;
}

function readIfThere(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
