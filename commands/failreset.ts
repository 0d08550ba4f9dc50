import { describe, vmArg } from '../src/cli/base-command.js';
import { VmActionCommand } from '../src/cli/vm-action-command.js';

export default class Failreset extends VmActionCommand {
  static override summary = 'Reset failed VMs to stopped, clearing their restart history.';
  static override description = describe(
    'Only a VM in the failed state can be reset; vmstated refuses (exit 1) for any other state. ' +
      'No hook runs. After the reset the VM can be started again.',
  );
  static override examples = [
    '<%= config.bin %> failreset web',
    '<%= config.bin %> failreset web && <%= config.bin %> start web',
  ];
  static override args = {
    vm: vmArg('The VM(s) to failreset; several are handled in parallel.'),
  };
  // Several VMs: oclif copies only own static properties, so strict must be set here.
  static override strict = false;
  static override flags = {};

  protected readonly action = 'failreset';

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Failreset);
    await this.runAction(argv, flags);
  }
}
