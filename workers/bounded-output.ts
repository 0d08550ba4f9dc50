/**
 * The one way output of a guest or a hook reaches a VM log: bytes in (Buffer chunks, from a pipe,
 * a tailed file or a console device), lines out, each line cut at 8 KiB (line-cutter.ts) and each
 * source held to its budget (output-budget.ts). Whatever the source writes, the memory held here
 * stays below one piece, and the log grows at most at the budget's rate plus a summary line per
 * interval.
 */
import { LineCutter } from './line-cutter.js';
import type { Piece } from './line-cutter.js';
import { OUTPUT_BUDGET, OutputBudget, droppedText } from './output-budget.js';
import type { OutputBudgetValues } from './output-budget.js';
import { monotonicMs } from '../src/shared/monotonic.js';

/** Where a source's output goes: Buffer chunks as they come, then end() once. */
export interface OutputSink {
  write(chunk: Buffer): void;
  end(): void;
}

/** Writes one log line (VmLog.line). */
export type LineWriter = (source: string, text: string) => void;

/** The source a continued piece is logged under: `bhyve[812]/stdout (continued)`. */
export function continuedSource(source: string): string {
  return `${source} (continued)`;
}

/** An unfinished line (a prompt) is logged once its source has been quiet this long. */
export const QUIET_FLUSH_MS = 1_000;

export class BoundedOutput implements OutputSink {
  private readonly cutter = new LineCutter();
  private readonly budget: OutputBudget;
  private summaryTimer: NodeJS.Timeout | null = null;
  private quietTimer: NodeJS.Timeout | null = null;
  private lastWriteAt = 0;
  private ended = false;

  constructor(
    private readonly source: string,
    private readonly writeLine: LineWriter,
    private readonly budgetValues: Readonly<OutputBudgetValues> = OUTPUT_BUDGET,
    private readonly quietFlushMs = QUIET_FLUSH_MS,
  ) {
    this.budget = new OutputBudget(budgetValues);
  }

  write(chunk: Buffer): void {
    if (this.ended) return;
    this.log(this.cutter.push(chunk));
    this.lastWriteAt = monotonicMs();
    if (this.cutter.bufferedBytes > 0) this.flushWhenQuiet(this.quietFlushMs);
  }

  end(): void {
    if (this.ended) return;
    this.log(this.cutter.end());
    this.ended = true;
    if (this.quietTimer !== null) clearTimeout(this.quietTimer);
    this.summarize();
  }

  /** One timer per quiet spell (not one per chunk): it looks again if output came meanwhile. */
  private flushWhenQuiet(delayMs: number): void {
    if (this.quietTimer !== null) return;
    this.quietTimer = setTimeout(() => {
      this.quietTimer = null;
      if (this.ended || this.cutter.bufferedBytes === 0) return;
      const quietFor = monotonicMs() - this.lastWriteAt;
      if (quietFor < this.quietFlushMs) this.flushWhenQuiet(this.quietFlushMs - quietFor);
      else this.log(this.cutter.flush());
    }, delayMs);
    this.quietTimer.unref();
  }

  private log(pieces: Piece[]): void {
    for (const piece of pieces) {
      if (this.budget.take(Buffer.byteLength(piece.text))) {
        this.writeLine(piece.continued ? continuedSource(this.source) : this.source, piece.text);
      } else {
        this.scheduleSummary();
      }
    }
  }

  private scheduleSummary(): void {
    if (this.summaryTimer !== null) return;
    this.summaryTimer = setTimeout(() => this.summarize(), this.budgetValues.summaryIntervalMs);
    this.summaryTimer.unref();
  }

  private summarize(): void {
    if (this.summaryTimer !== null) clearTimeout(this.summaryTimer);
    this.summaryTimer = null;
    const dropped = this.budget.takeDropped();
    if (dropped !== null) this.writeLine('vmstated', droppedText(dropped, this.source));
  }
}
