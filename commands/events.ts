import type { VmEvent } from '../src/protocol/types.js';
import { ControlCommand, describe, failure, optionalVmArg } from '../src/cli/base-command.js';
import { EXIT } from '../src/cli/exit-codes.js';
import { onInterrupt, printLine } from '../src/cli/stream.js';

export default class Events extends ControlCommand {
  static override summary = 'Stream vmstated events as JSON lines until Ctrl-C.';
  static override description = describe(
    'Prints one JSON object per line for every event: state changes (with the reason, the failure ' +
      'reason, and while a guest is asked to power off the time of the forced power-off), hook results, ' +
      'bhyve launches and exits, config reloads, VMs added and removed. Give a VM name to see only its ' +
      'events. On a terminal, "waiting for events; Ctrl-C ends" is printed on stderr once vmstated took the request. Ctrl-C ends the ' +
      'stream (exit 0); if vmstated closes it, the exit status is 3.',
    'The output is JSON with or without --json; each line is the "event" member of the protocol line.',
  );
  static override examples = [
    '<%= config.bin %> events',
    '<%= config.bin %> events web',
    "<%= config.bin %> events | jq -c 'select(.type == \"state\")'",
  ];
  static override args = {
    vm: optionalVmArg('Only events of this VM.'),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Events);
    const connection = await this.connect(flags.socket);
    let interrupted = false;
    const release = onInterrupt(() => {
      interrupted = true;
      connection.close();
    });
    try {
      // A quiet stream looks like a hung command: on a terminal, say that it waits and how to end it.
      const subscribed = (): void => void (process.stderr.isTTY && process.stderr.write('waiting for events; Ctrl-C ends\n'));
      await connection.events((event: VmEvent) => printLine(JSON.stringify(event)), args.vm === undefined ? {} : { vm: args.vm }, subscribed);
    } finally {
      release();
    }
    if (!interrupted) throw failure('vmstated closed the event stream', EXIT.UNREACHABLE);
  }
}
