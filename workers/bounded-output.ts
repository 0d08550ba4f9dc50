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

export class BoundedOutput implements OutputSink {
  private readonly cutter = new LineCutter();
  private readonly budget: OutputBudget;
  private summaryTimer: NodeJS.Timeout | null = null;
  private ended = false;

  constructor(
    private readonly source: string,
    private readonly writeLine: LineWriter,
    private readonly budgetValues: Readonly<OutputBudgetValues> = OUTPUT_BUDGET,
  ) {
    this.budget = new OutputBudget(budgetValues);
  }

  write(chunk: Buffer): void {
    if (this.ended) return;
    this.log(this.cutter.push(chunk));
  }

  end(): void {
    if (this.ended) return;
    this.log(this.cutter.end());
    this.ended = true;
    this.summarize();
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
