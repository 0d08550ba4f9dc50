/**
 * Live progress of start/stop/restart on a terminal: one line per transition as it happens, and
 * a bottom line counting down to the forced power-off while guests are asked to shut down.
 */
import type { VmEvent } from '../protocol/types.js';
import { colourState } from './colour.js';

const CLEAR_LINE = '\r\x1b[K';

function clock(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '--:--:--' : date.toTimeString().slice(0, 8);
}

/** One event in words, or null for events that are not about one VM's progress; `colour`: the new state in colour. */
export function describeEvent(event: VmEvent, colour = false): string | null {
  switch (event.type) {
    case 'state': {
      const why = event.failureReason ? `: ${event.failureReason}` : '';
      return `${clock(event.time)} ${event.vm}: ${event.previous} -> ${colourState(event.state, event.state, colour)} (${event.reason})${why}`;
    }
    case 'hook': {
      const outcome = event.ok
        ? 'ok'
        : event.signal
          ? `killed by ${event.signal}`
          : `failed with exit ${event.exitCode ?? '?'}`;
      return `${clock(event.time)} ${event.vm}: hook ${event.hook} ${outcome} (${(event.durationMs / 1000).toFixed(1)}s)`;
    }
    case 'launch':
      return `${clock(event.time)} ${event.vm}: bhyve started, pid ${event.pid}`;
    case 'exit':
      return `${clock(event.time)} ${event.vm}: bhyve pid ${event.pid} exited: ${event.exit.meaning}`;
    default:
      return null;
  }
}

export class ProgressDisplay {
  /** VM -> epoch ms of the forced power-off, while its guest is asked to shut down. */
  private readonly forceAt = new Map<string, number>();
  private ticker: NodeJS.Timeout | undefined;
  private tickerShown = false;

  constructor(
    private readonly vms: ReadonlySet<string>,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly now: () => number = Date.now,
    private readonly colour = false,
  ) {}

  onEvent(event: VmEvent): void {
    if (!('vm' in event) || !this.vms.has(event.vm)) return;
    if (event.type === 'state') {
      const force = event.forceAt === undefined ? NaN : Date.parse(event.forceAt);
      if (Number.isNaN(force)) this.forceAt.delete(event.vm);
      else this.forceAt.set(event.vm, force);
    }
    const line = describeEvent(event, this.colour);
    if (line !== null) this.printLine(line);
    this.updateTicker();
  }

  /** Removes the countdown line and stops its timer. */
  stop(): void {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
    this.clearTicker();
  }

  private printLine(line: string): void {
    this.clearTicker();
    this.out.write(line + '\n');
  }

  private updateTicker(): void {
    if (this.forceAt.size === 0) {
      this.stop();
      return;
    }
    if (this.ticker === undefined) {
      this.ticker = setInterval(() => this.drawTicker(), 1000);
      this.ticker.unref();
    }
    this.drawTicker();
  }

  private drawTicker(): void {
    const parts = [...this.forceAt].map(([vm, at]) => {
      const left = Math.ceil((at - this.now()) / 1000);
      return left > 0 ? `${vm}: forced power-off in ${left}s` : `${vm}: power-off forced, waiting for bhyve to exit`;
    });
    this.out.write(`${CLEAR_LINE}waiting for the guest to power off; ${parts.join(', ')}`);
    this.tickerShown = true;
  }

  private clearTicker(): void {
    if (!this.tickerShown) return;
    this.out.write(CLEAR_LINE);
    this.tickerShown = false;
  }
}
