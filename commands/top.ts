import { Flags } from '../src/cli/oclif.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlCommand, describe, optionalVmArg } from '../src/cli/base-command.js';
import { onInterrupt, printLine } from '../src/cli/stream.js';
import type { ProcessSample, UsageSampler } from '../src/shared/usage.js';
import type { TopEntry, TopRow, TopSort } from '../src/cli/top-view.js';

/** The first screen compares two samples this far apart. */
const FIRST_SAMPLE_MS = 500;
const CLEAR_SCREEN = '\x1b[H\x1b[2J';
/** The terminal's alternate screen (xterm, and every terminal since): frames never reach the scrollback. */
const ENTER_ALTERNATE_SCREEN = '\x1b[?1049h';
const LEAVE_ALTERNATE_SCREEN = '\x1b[?1049l';
/** The keys that change the order in the view. */
const SORT_KEYS: Record<string, TopSort> = { c: 'cpu', m: 'mem', n: 'name' };

export default class Top extends ControlCommand {
  static override summary = "Show each VM's CPU and memory use (bhyve and its worker), refreshed like top(1).";
  static override description = describe(
    'Every VM you may see (or the named VM): the pid, CPU % (100 % = one core) and resident memory of its ' +
      'bhyve process and of its vmstated worker; "-" where there is nothing to measure (a stopped VM has no ' +
      'process). Rows are sorted by --sort: cpu or mem (the busiest first, bhyve and worker added up) or name. ' +
      'On a terminal the view uses the alternate screen (the scrollback keeps no frames) and refreshes every ' +
      '-d seconds; the keys c, m and n sort by cpu, mem and name; q or Ctrl-C quits. --once prints one sample ' +
      'and exits; with --json each sample is a JSON array of {name, state, bhyve: {pid, cpuPercent, rssBytes} ' +
      'or null, worker: {...} or null} (one per line when refreshing).',
    'CPU % is measured between two samples of the processes\' CPU time (/proc on Linux, ps(1) on FreeBSD).',
  );
  static override examples = [
    '<%= config.bin %> top',
    '<%= config.bin %> top -d 5 --sort mem',
    '<%= config.bin %> top --once',
    '<%= config.bin %> --json top --once',
  ];
  static override args = {
    vm: optionalVmArg('Only this VM.'),
  };
  static override flags = {
    once: Flags.boolean({ summary: 'Print one sample and exit.', default: false }),
    delay: Flags.string({ char: 'd', summary: 'Seconds between refreshes.', default: '2', helpValue: '<seconds>' }),
    sort: Flags.string({ summary: 'Order of the rows (keys c, m, n in the view).', options: ['cpu', 'mem', 'name'], default: 'cpu' }),
  };

  private sampler: UsageSampler | undefined;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Top);
    const delaySeconds = Number(flags.delay);
    if (!(delaySeconds > 0)) this.error(`top: -d must be a number of seconds above 0, not "${flags.delay}"`, { exit: 2 });
    const connection = await this.connect(flags.socket);
    const { createUsageSampler } = await import('../src/shared/usage.js');
    const { buildTopRows, pidsOf, renderTop, sortTopRows } = await import('../src/cli/top-view.js');
    const { colourWanted } = await import('../src/cli/colour.js');
    this.sampler = await createUsageSampler();
    const sampler = this.sampler;
    const request = args.vm === undefined ? {} : { vm: args.vm };
    const interactive = process.stdout.isTTY === true && !flags.once && !flags.json;
    const colour = !flags.json && colourWanted();
    let sort = flags.sort as TopSort;
    let rows: TopRow[] = [];
    const draw = (): void => {
      const sorted = sortTopRows(rows, sort);
      if (flags.json) printLine(JSON.stringify(sorted, null, flags.once ? 2 : undefined));
      else if (interactive) process.stdout.write(CLEAR_SCREEN + this.heading(delaySeconds, sort) + renderTop(sorted, colour));
      else process.stdout.write(renderTop(sorted, colour) + (flags.once ? '' : '\n'));
    };

    const stopper = new AbortController();
    const release = onInterrupt(() => stopper.abort());
    const restoreKeys = flags.once ? () => {} : this.readKeys((key) => {
      if (key === 'quit') stopper.abort();
      else if (interactive) {
        sort = key;
        draw();
      }
    });
    const leaveScreen = interactive ? this.enterAlternateScreen() : () => {};
    try {
      let entries = await this.quickRequest<TopEntry[]>(connection, 'top', request);
      let previous = await sampler.sample(pidsOf(entries));
      let wait = FIRST_SAMPLE_MS;
      while (!stopper.signal.aborted) {
        if (!(await this.pause(wait, stopper.signal))) break;
        const current = await sampler.sample(pidsOf(entries));
        rows = buildTopRows(entries, previous, current);
        draw();
        if (flags.once) break;
        entries = await this.quickRequest<TopEntry[]>(connection, 'top', request);
        previous = this.keepKnown(current, await sampler.sample(pidsOf(entries)));
        wait = delaySeconds * 1000;
      }
    } finally {
      leaveScreen();
      release();
      restoreKeys();
    }
  }

  /** Samples taken right after the refresh of the list; fresh ones win over the last screen's. */
  private keepKnown(last: Map<number, ProcessSample>, fresh: Map<number, ProcessSample>): Map<number, ProcessSample> {
    for (const [pid, sample] of last) if (!fresh.has(pid)) fresh.set(pid, sample);
    return fresh;
  }

  private heading(delaySeconds: number, sort: TopSort): string {
    const time = new Date().toTimeString().slice(0, 8);
    return `vmstatedctl top - ${time}, refresh every ${delaySeconds}s, sorted by ${sort}; c cpu, m mem, n name, q quits\n\n`;
  }

  /** Switches to the alternate screen; the function returned switches back (also if the process exits first). */
  private enterAlternateScreen(): () => void {
    let left = false;
    const leave = (): void => {
      if (left) return;
      left = true;
      process.off('exit', leave);
      process.stdout.write(LEAVE_ALTERNATE_SCREEN);
    };
    process.on('exit', leave);
    process.stdout.write(ENTER_ALTERNATE_SCREEN);
    return leave;
  }

  /** Waits; false when stopped meanwhile. */
  private async pause(ms: number, signal: AbortSignal): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal });
      return true;
    } catch {
      return false;
    }
  }

  /** On a terminal: q (or Ctrl-C, which raw mode delivers as a byte) quits; c, m and n change the order. */
  private readKeys(onKey: (key: TopSort | 'quit') => void): () => void {
    const stdin = process.stdin;
    if (!stdin.isTTY) return () => {};
    stdin.setRawMode(true);
    const onData = (data: Buffer): void => {
      for (const char of data.toString('latin1').toLowerCase()) {
        if (char === 'q' || char === '\x03') onKey('quit');
        else if (SORT_KEYS[char] !== undefined) onKey(SORT_KEYS[char]);
      }
    };
    stdin.on('data', onData);
    stdin.resume();
    return () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
    };
  }

  protected override async finally(error: Error | undefined): Promise<unknown> {
    this.sampler?.close();
    return super.finally(error);
  }
}
