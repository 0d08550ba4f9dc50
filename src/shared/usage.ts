/**
 * CPU and memory sampling of processes: for `vmstatedctl top` and for the daemon's metrics (the
 * CPU time and resident memory of each VM's bhyve).
 *
 * CPU % is computed from two samples of the cumulative CPU time: (cpu2 - cpu1) / (t2 - t1).
 * Linux: pidusage (it reads /proc). FreeBSD: our own ps(1) reading, because pidusage misreads
 * FreeBSD ps's `time` column (`M:SS.cc`, minutes unbounded) and reports a 20 % VM as 1216 %.
 */
import { execFile } from 'node:child_process';

/** One reading of one process. */
export interface ProcessSample {
  pid: number;
  /** Cumulative user+system CPU time, in seconds. */
  cpuSeconds: number;
  /** Resident set size, in bytes. */
  rssBytes: number;
  /** When the reading was taken (ms, any monotonic-enough clock shared by the samples). */
  takenAtMs: number;
}

export interface UsageSampler {
  /** Readings for the pids that exist; a pid that is gone is simply absent. */
  sample(pids: readonly number[]): Promise<Map<number, ProcessSample>>;
  /** Releases what the sampler holds (pidusage keeps /proc descriptors open). */
  close(): void;
}

/**
 * Parses a ps CPU time. FreeBSD's `time`/`cputime` is `M:SS.cc` with unbounded minutes
 * (bin/ps/print.c: "%ld:%02ld%c%02ld", the decimal point from the locale); procps and others print
 * `[dd-]hh:mm:ss`. Accepts both, with `.` or `,` as the decimal point. Returns seconds, or null.
 */
export function parsePsCpuTime(text: string): number | null {
  const match = /^(?:(\d+)-)?(\d+(?::\d+){0,2})(?:[.,](\d+))?$/.exec(text.trim());
  if (!match) return null;
  const [, daysText, clock, fractionText] = match;
  const fields = clock!.split(':').map(Number);
  if (fields.slice(1).some((field) => field >= 60)) return null;
  let seconds = fields.reduce((total, field) => total * 60 + field, 0);
  if (daysText !== undefined) {
    if (fields.length !== 3) return null;
    seconds += Number(daysText) * 86400;
  }
  if (fractionText !== undefined) seconds += Number(`0.${fractionText}`);
  return seconds;
}

/** One parsed line of `ps -o pid= -o rss= -o time=`. */
export interface PsRow {
  pid: number;
  rssKiB: number;
  cpuSeconds: number;
}

/**
 * Parses `ps -o pid= -o rss= -o time= -p ...` output (FreeBSD or procps). Header lines and lines
 * that do not parse are skipped: a process may vanish between the ps call and its output.
 */
export function parsePsOutput(output: string): PsRow[] {
  const rows: PsRow[] = [];
  for (const line of output.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length !== 3) continue;
    const [pidText, rssText, timeText] = fields as [string, string, string];
    if (!/^\d+$/.test(pidText) || !/^\d+$/.test(rssText)) continue;
    const cpuSeconds = parsePsCpuTime(timeText);
    if (cpuSeconds === null) continue;
    rows.push({ pid: Number(pidText), rssKiB: Number(rssText), cpuSeconds });
  }
  return rows;
}

/** CPU % between two readings of one process (100 % = one core busy), or null when unknown. */
export function cpuPercent(before: ProcessSample | undefined, after: ProcessSample | undefined): number | null {
  if (!before || !after || before.pid !== after.pid) return null;
  const wallSeconds = (after.takenAtMs - before.takenAtMs) / 1000;
  if (wallSeconds <= 0) return null;
  const cpu = after.cpuSeconds - before.cpuSeconds;
  return Math.max(0, (cpu / wallSeconds) * 100);
}

export type RunPs = (args: string[]) => Promise<string>;

/** Runs ps with the C locale (so the decimal point is '.') and returns its stdout, even on exit 1. */
export const runPs: RunPs = (args) =>
  new Promise((resolve, reject) => {
    execFile('ps', args, { env: { ...process.env, LC_ALL: 'C' } }, (error, stdout) => {
      // ps exits 1 when some pid no longer exists; what it printed is still good.
      if (error && typeof error.code !== 'number') reject(error);
      else resolve(stdout);
    });
  });

/** A sampler that reads ps(1); the FreeBSD implementation. */
export function psSampler(run: RunPs = runPs, now: () => number = () => performance.now()): UsageSampler {
  return {
    async sample(pids) {
      const samples = new Map<number, ProcessSample>();
      if (pids.length === 0) return samples;
      const started = now();
      const output = await run(['-o', 'pid=', '-o', 'rss=', '-o', 'time=', '-p', pids.join(',')]);
      const takenAtMs = (started + now()) / 2;
      for (const row of parsePsOutput(output)) {
        samples.set(row.pid, { pid: row.pid, cpuSeconds: row.cpuSeconds, rssBytes: row.rssKiB * 1024, takenAtMs });
      }
      return samples;
    },
    close() {},
  };
}

/** A sampler over pidusage, which reads /proc on Linux. */
export async function pidusageSampler(): Promise<UsageSampler> {
  const { default: pidusage } = await import('pidusage');
  return {
    async sample(pids) {
      const samples = new Map<number, ProcessSample>();
      if (pids.length === 0) return samples;
      // One call for all pids: pidusage reads the clock tick and page size (two getconf(1) runs)
      // once per call until it knows them, so one call per pid ran 2 x N processes at first.
      // It skips a pid that is gone, unless it is the only one (then it rejects).
      let stats: Record<number, { ctime: number; memory: number; timestamp: number } | null | undefined>;
      try {
        stats = await pidusage([...pids]);
      } catch {
        return samples;
      }
      for (const pid of pids) {
        const stat = stats[pid];
        if (stat != null) samples.set(pid, { pid, cpuSeconds: stat.ctime / 1000, rssBytes: stat.memory, takenAtMs: stat.timestamp });
      }
      return samples;
    },
    close() {
      pidusage.clear();
    },
  };
}

/** The right sampler for this system: pidusage on Linux, ps everywhere else (FreeBSD). */
export async function createUsageSampler(platform: NodeJS.Platform = process.platform): Promise<UsageSampler> {
  return platform === 'linux' ? pidusageSampler() : psSampler();
}
