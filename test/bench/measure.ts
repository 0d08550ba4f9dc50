/** Small measuring helpers for the benchmarks: percentiles, process PSS, wall time of a command. */
import { spawn } from 'node:child_process';
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

/** Memory only this process uses (private dirty: what it costs beyond the shared node binary), in KiB. */
export function privateDirtyKiB(pid: number): number | null {
  return smapsKiB(pid, /^Private_Dirty:\s+(\d+) kB/m);
}

/** Wall times in ms of `runs` sequential runs of a command that must exit 0. */
export async function wallTimes(argv: readonly string[], runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const started = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} exited ${code}: ${stderr}`))));
    });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times;
}
