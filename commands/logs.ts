import { Flags } from '../src/cli/oclif.js';
import { ControlCommand, describe, isUnreachable, vmArg } from '../src/cli/base-command.js';
import { logLines, visibleControls } from '../src/cli/log-lines.js';
import { onInterrupt, printLine } from '../src/cli/stream.js';

export default class Logs extends ControlCommand {
  static override summary = "Show the end of a VM's log; -f keeps following it.";
  static override description = describe(
    "The VM log holds every transition, hook result and hook output, and bhyve's launches, exits and " +
      'output. -n sets how many of the last lines to show; -f keeps printing new lines until Ctrl-C ' +
      '(like tail -f). Control characters a guest wrote to its console are shown as cat -v shows them ' +
      '(ESC as ^[), so that they cannot act on your terminal. With --json the lines are JSON strings, as ' +
      'they are in the log: an array, or one per line with -f.',
  );
  static override examples = [
    '<%= config.bin %> logs web',
    '<%= config.bin %> logs web -n 200',
    '<%= config.bin %> logs -f web',
  ];
  static override args = {
    vm: vmArg('The VM whose log to show.'),
  };
  static override flags = {
    follow: Flags.boolean({ char: 'f', summary: 'Keep printing new lines as they are written, until Ctrl-C.', default: false }),
    lines: Flags.integer({ char: 'n', summary: 'How many of the last lines to show.', default: 50, min: 0, helpValue: '<N>' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Logs);
    const connection = await this.connect(flags.socket);
    const request = { vm: args.vm, n: flags.lines, follow: flags.follow };
    const print = (line: string): void => printLine(flags.json ? JSON.stringify(line) : visibleControls(line));
    if (!flags.follow) {
      const lines = logLines(await this.vmRequest(args.vm, () => this.quickRequest<unknown>(connection, 'logs', request)));
      if (flags.json) this.printJson(lines);
      else lines.forEach(print);
      return;
    }
    let interrupted = false;
    const release = onInterrupt(() => {
      interrupted = true;
      connection.close();
    });
    try {
      const last = await this.vmRequest(args.vm, () =>
        connection.request<unknown>('logs', request, { onData: (data) => logLines(data).forEach(print) }),
      );
      logLines(last).forEach(print);
    } catch (error) {
      if (!(interrupted && isUnreachable(error))) throw error;
    } finally {
      release();
    }
  }
}
