/**
 * The CPU time and resident memory of the VMs' bhyve processes for the metrics: read at scrape
 * time through the sampler `vmstatedctl top` uses (src/shared/usage.ts: /proc on Linux, one ps(1)
 * on FreeBSD), and kept for a few seconds, so that a scraper polling in a loop cannot make the
 * daemon run ps in a loop. A scrape waits for a new reading only briefly when it has an older one
 * (the scrape then gets the older one, and the new one serves the next scrape): a slow or hung
 * sampler never makes a scrape slow.
 */
import { createUsageSampler } from '../shared/usage.js';
import type { ProcessSample } from '../shared/usage.js';

export type SampleProcesses = (pids: readonly number[]) => Promise<Map<number, ProcessSample>>;

/** Readings this young are served again. */
export const USAGE_MAX_AGE_MS = 5_000;
/** A scrape that has older readings waits this long for new ones. */
export const USAGE_STALE_WAIT_MS = 25;
/** The first scrape (no readings yet) waits this long. */
export const USAGE_FIRST_WAIT_MS = 1_000;

/** One reading with the sampler of this system, released at once (pidusage keeps state per pid). */
export const sampleProcesses: SampleProcesses = async (pids) => {
  const sampler = await createUsageSampler();
  try {
    return await sampler.sample(pids);
  } finally {
    sampler.close();
  }
};

export class CachedUsage {
  private last: { takenAt: number; samples: Map<number, ProcessSample> } | null = null;
  private pending: Promise<Map<number, ProcessSample>> | null = null;

  constructor(
    private readonly sample: SampleProcesses = sampleProcesses,
    private readonly options: { maxAgeMs?: number; staleWaitMs?: number; firstWaitMs?: number; now?: () => number } = {},
  ) {}

  /** Readings of `pids` (a pid that is gone, or new since the cached reading, is absent). */
  async read(pids: readonly number[]): Promise<Map<number, ProcessSample>> {
    const now = this.options.now ?? (() => performance.now());
    if (this.last !== null && now() - this.last.takenAt < (this.options.maxAgeMs ?? USAGE_MAX_AGE_MS)) return this.last.samples;
    if (pids.length === 0) return new Map();
    this.pending ??= this.sample(pids)
      .then((samples) => {
        this.last = { takenAt: now(), samples };
        return samples;
      })
      .finally(() => {
        this.pending = null;
      });
    const stale = this.last?.samples ?? new Map<number, ProcessSample>();
    const waitMs = this.last === null ? (this.options.firstWaitMs ?? USAGE_FIRST_WAIT_MS) : (this.options.staleWaitMs ?? USAGE_STALE_WAIT_MS);
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<Map<number, ProcessSample>>((resolve) => {
      timer = setTimeout(() => resolve(stale), waitMs);
    });
    try {
      return await Promise.race([this.pending.catch(() => stale), waited]);
    } finally {
      clearTimeout(timer);
    }
  }
}
