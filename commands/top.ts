import { Flags } from '../src/cli/oclif.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlCommand, describe, optionalVmArg } from '../src/cli/base-command.js';
import { onInterrupt, printLine } from '../src/cli/stream.js';
import type { ProcessSample, UsageSampler } from '../src/shared/usage.js';
import type { TopEntry } from '../src/cli/top-view.js';

/** The first screen compares two samples this far apart. */
const FIRST_SAMPLE_MS = 500;
const CLEAR_SCREEN = '\x1b[H\x1b[2J';

export default class Top extends ControlCommand {
  static override summary = "Show each VM's CPU and memory use (bhyve and its worker), refreshed like top(1).";
  static override description = describe(
    'For every VM that has a bhyve or worker process (or the named VM): the pid, CPU % (100 % = one core) ' +
      'and resident memory of its bhyve process ' +
      'and of its vmstated worker. The screen refreshes every -d seconds; q or Ctrl-C quits. --once prints ' +
      'one sample and exits; with --json each sample is a JSON array of {name, state, bhyve: {pid, ' +
      'cpuPercent, rssBytes}, worker: {...}} (one per line when refreshing).',
    'CPU % is measured between two samples of the processes\' CPU time (/proc on Linux, ps(1) on FreeBSD).',
  );
  static override examples = [
    '<%= config.bin %> top',
    '<%= config.bin %> top -d 5',
    '<%= config.bin %> top --once',
    '<%= config.bin %> --json top --once',
  ];
  static override args = {
    vm: optionalVmArg('Only this VM.'),
  };
  static override flags = {
    once: Flags.boolean({ summary: 'Print one sample and exit.', default: false }),
    delay: Flags.string({ char: 'd', summary: 'Seconds between refreshes.', default: '2', helpValue: '<seconds>' }),
  };

  private sampler: UsageSampler | undefined;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Top);
    const delaySeconds = Number(flags.delay);
    if (!(delaySeconds > 0)) this.error(`top: -d must be a number of seconds above 0, not "${flags.delay}"`, { exit: 2 });
    const connection = await this.connect(flags.socket);
    const { createUsageSampler } = await import('../src/shared/usage.js');
    const { buildTopRows, pidsOf, renderTop } = await import('../src/cli/top-view.js');
    this.sampler = await createUsageSampler();
    const sampler = this.sampler;
    const request = args.vm === undefined ? {} : { vm: args.vm };

    const stopper = new AbortController();
    const release = onInterrupt(() => stopper.abort());
    const restoreKeys = flags.once ? () => {} : this.quitOnKey(() => stopper.abort());
    const interactive = process.stdout.isTTY === true && !flags.once && !flags.json;
    try {
      let entries = await this.quickRequest<TopEntry[]>(connection, 'top', request);
      let previous = await sampler.sample(pidsOf(entries));
      let wait = FIRST_SAMPLE_MS;
      while (!stopper.signal.aborted) {
        if (!(await this.pause(wait, stopper.signal))) break;
        const current = await sampler.sample(pidsOf(entries));
        const rows = buildTopRows(entries, previous, current);
        if (flags.json) printLine(JSON.stringify(rows, null, flags.once ? 2 : undefined));
        else if (interactive) process.stdout.write(CLEAR_SCREEN + this.heading(delaySeconds) + renderTop(rows));
        else process.stdout.write(renderTop(rows) + (flags.once ? '' : '\n'));
        if (flags.once) break;
        entries = await this.quickRequest<TopEntry[]>(connection, 'top', request);
        previous = this.keepKnown(current, await sampler.sample(pidsOf(entries)));
        wait = delaySeconds * 1000;
      }
    } finally {
      release();
      restoreKeys();
    }
  }

  /** Samples taken right after the refresh of the list; fresh ones win over the last screen's. */
  private keepKnown(last: Map<number, ProcessSample>, fresh: Map<number, ProcessSample>): Map<number, ProcessSample> {
    for (const [pid, sample] of last) if (!fresh.has(pid)) fresh.set(pid, sample);
    return fresh;
  }

  private heading(delaySeconds: number): string {
    return `vmstatedctl top - ${new Date().toTimeString().slice(0, 8)}, refresh every ${delaySeconds}s, q quits\n\n`;
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

  /** On a terminal, q (or Ctrl-C, which raw mode delivers as a byte) quits. */
  private quitOnKey(quit: () => void): () => void {
    const stdin = process.stdin;
    if (!stdin.isTTY) return () => {};
    stdin.setRawMode(true);
    const onData = (data: Buffer): void => {
      if (data.includes(0x71) || data.includes(0x51) || data.includes(0x03)) quit();
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
