import { describe, vmArg } from '../src/cli/base-command.js';
import { VmActionCommand } from '../src/cli/vm-action-command.js';

export default class Restart extends VmActionCommand {
  static override summary = 'Restart VMs (graceful stop, then start, with any changed config) and wait until they run again.';
  static override description = describe(
    'Stops bhyve as stop does (without running stop_storage/stop_network), relaunches it and goes ' +
      'through restarting and restarted back to running. Such restarts do not count in the restart window. ' +
      'A config changed since the VM started (see reload) applies to the new bhyve, as at a start. ' +
      'A stopped VM is started; a failed one is refused. Exits 1 if any VM failed or was refused.',
    'Ctrl-C only stops the waiting (exit 130): vmstated carries on with the request.',
  );
  static override examples = [
    '<%= config.bin %> restart web',
    '<%= config.bin %> restart --no-wait web db',
  ];
  static override args = {
    vm: vmArg('The VM(s) to restart; several are handled in parallel.'),
  };
  // Several VMs: oclif copies only own static properties, so strict must be set here.
  static override strict = false;
  static override flags = VmActionCommand.waitFlags;

  protected readonly action = 'restart';

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Restart);
    await this.runAction(argv, flags);
  }
}
