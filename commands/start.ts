import { describe, vmArg } from '../src/cli/base-command.js';
import { VmActionCommand } from '../src/cli/vm-action-command.js';

export default class Start extends VmActionCommand {
  static override summary = 'Start VMs and wait until they run.';
  static override description = describe(
    'Runs start_network, start_storage, launches bhyve and reaches running. Without --no-wait the ' +
      'command waits until every VM is running or has failed, and exits 1 if any failed or was refused, naming ' +
      'the reason (a failed VM needs failreset first). A VM that runs already counts as done. ' +
      'A bhyve that exits within the VM\'s settletime fails the start: its last lines on stderr follow the reason. ' +
      'On a terminal every transition and hook result is shown as it happens.',
    'Ctrl-C only stops the waiting (exit 130): vmstated carries on with the request.',
  );
  static override examples = [
    '<%= config.bin %> start web',
    '<%= config.bin %> start web db mail',
    '<%= config.bin %> start --no-wait web',
    '<%= config.bin %> -s /tmp/vmstated.sock --json start web',
  ];
  static override args = {
    vm: vmArg('The VM(s) to start; several are handled in parallel.'),
  };
  // Several VMs: oclif copies only own static properties, so strict must be set here.
  static override strict = false;
  static override flags = VmActionCommand.waitFlags;

  protected readonly action = 'start';

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Start);
    await this.runAction(argv, flags);
  }
}
