/** Small measuring helpers for the benchmarks: percentiles, process PSS, wall time of a command. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

/** The p-th percentile (nearest rank) of `values`; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** A field of /proc/<pid>/smaps_rollup in KiB (Linux), or null. */
function smapsKiB(pid: number, field: RegExp): number | null {
  try {
    const match = field.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** Proportional set size of a process in KiB, or null where /proc has no smaps_rollup (FreeBSD). */
export function pssKiB(pid: number): number | null {
  return smapsKiB(pid, /^Pss:\s+(\d+) kB/m);
}

/** What a process costs, from /proc (Linux): KiB of PSS, private (clean + dirty) and anonymous memory, and its threads. */
export interface ProcessMemory {
  pssKiB: number;
  privateKiB: number;
  anonymousKiB: number;
  threads: number;
}

/** The memory and thread count of a live process, or null where /proc has no smaps_rollup (FreeBSD) or it is gone. */
export function processMemory(pid: number): ProcessMemory | null {
  try {
    const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? Number.NaN);
    const threads = fs.readdirSync(`/proc/${pid}/task`).length;
    return { pssKiB: field('Pss'), privateKiB: field('Private_Clean') + field('Private_Dirty'), anonymousKiB: field('Anonymous'), threads };
  } catch {
    return null;
  }
}

/** The mean of each field over several processes' memory (null if any is null or there are none). */
export function meanMemory(samples: ReadonlyArray<ProcessMemory | null>): ProcessMemory | null {
  if (samples.length === 0 || samples.some((sample) => sample === null)) return null;
  const mean = (key: keyof ProcessMemory): number => (samples as ProcessMemory[]).reduce((sum, sample) => sum + sample[key], 0) / samples.length;
  return { pssKiB: mean('pssKiB'), privateKiB: mean('privateKiB'), anonymousKiB: mean('anonymousKiB'), threads: mean('threads') };
}

/**
 * A bare Node process (`node -e 'setInterval(() => {}, 1e3)'`) in the environment service(8)
 * gives, for what a resident worker costs beyond Node itself; measure it in the same run as the
 * workers (the same node binary, kernel and page cache). Kill it when done.
 */
export function spawnBareNode(): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e3)'], { stdio: 'ignore', env: serviceEnvironment() });
}

/** The environment service(8) gives an rc script (`env -i HOME=/ PATH=...`), plus `extra`. */
export function serviceEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { HOME: '/', PATH: process.env.PATH, ...extra };
}

/**
 * The environment an admin's login shell would give a command: HOME, PATH, LANG, TERM only. The
 * sandbox this bench may run in sets more (NODE_EXTRA_CA_CERTS adds ~40 ms of CPU to every Node
 * start, node -e 0 included), which would flatter any ratio to node -e 0.
 */
export function loginEnvironment(): NodeJS.ProcessEnv {
  const { HOME, PATH, LANG, TERM } = process.env;
  return Object.fromEntries(Object.entries({ HOME, PATH, LANG, TERM }).filter(([, value]) => value !== undefined));
}

/** Wall times in ms of `runs` sequential runs of a command that must exit 0, in loginEnvironment(). */
export async function wallTimes(argv: readonly string[], runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const started = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: loginEnvironment() });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} exited ${code}: ${stderr}`))));
    });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times;
}

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat (Linux), or null. */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** Linux reports /proc CPU times in USER_HZ, 100 on every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** The whole machine's CPU time so far, busy and total (all CPUs), in ms, from /proc/stat (Linux), or null. */
export function machineCpuMs(): { busy: number; total: number } | null {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0); // idle + iowait
    return { busy: ((total - idle) * 1000) / CLOCK_TICKS_PER_SECOND, total: (total * 1000) / CLOCK_TICKS_PER_SECOND };
  } catch {
    return null;
  }
}
