/**
 * How much of one source's output (bhyve's stdout, a hook's stderr, ...) goes into the VM log: a
 * burst, then a steady rate, in lines and in bytes (a token bucket each). What is over budget is
 * dropped and counted, and the count is written as one line per interval, so a guest or a hook
 * that floods its output can neither fill the disk nor hide that it did. vmstated(8), Logging,
 * states the values.
 */
import { monotonicMs } from '../src/shared/monotonic.js';

export interface OutputBudgetValues {
  /** Lines and bytes a source may write at once, after a quiet time. */
  burstLines: number;
  burstBytes: number;
  /** The steady rate once the burst is used up. */
  linesPerSecond: number;
  bytesPerSecond: number;
  /** While dropping, one summary line per this long. */
  summaryIntervalMs: number;
}

export const OUTPUT_BUDGET: Readonly<OutputBudgetValues> = {
  burstLines: 1_000,
  burstBytes: 256 * 1024,
  linesPerSecond: 100,
  bytesPerSecond: 16 * 1024,
  summaryIntervalMs: 1_000,
};

export interface Dropped {
  lines: number;
  bytes: number;
}

/** The line a summary writes, e.g. `1200 lines (9830400 bytes) of bhyve[812]/stdout dropped: output flood`. */
export function droppedText(dropped: Dropped, source: string): string {
  return `${dropped.lines} lines (${dropped.bytes} bytes) of ${source} dropped: output flood`;
}

export class OutputBudget {
  private lines: number;
  private bytes: number;
  private refilledAt: number;
  private dropped: Dropped = { lines: 0, bytes: 0 };

  constructor(
    private readonly values: Readonly<OutputBudgetValues> = OUTPUT_BUDGET,
    private readonly now: () => number = () => monotonicMs(),
  ) {
    this.lines = values.burstLines;
    this.bytes = values.burstBytes;
    this.refilledAt = now();
  }

  /** True when a line of `bytes` bytes may be written; false when it is over budget (and counted). */
  take(bytes: number): boolean {
    this.refill();
    if (this.lines >= 1 && this.bytes >= bytes) {
      this.lines -= 1;
      this.bytes -= bytes;
      return true;
    }
    this.dropped.lines += 1;
    this.dropped.bytes += bytes;
    return false;
  }

  /** What was dropped since the last call, or null when nothing was. */
  takeDropped(): Dropped | null {
    if (this.dropped.lines === 0) return null;
    const dropped = this.dropped;
    this.dropped = { lines: 0, bytes: 0 };
    return dropped;
  }

  private refill(): void {
    const now = this.now();
    const seconds = (now - this.refilledAt) / 1000;
    this.refilledAt = now;
    const { burstLines, burstBytes, linesPerSecond, bytesPerSecond } = this.values;
    this.lines = Math.min(burstLines, this.lines + seconds * linesPerSecond);
    this.bytes = Math.min(burstBytes, this.bytes + seconds * bytesPerSecond);
  }
}
