/**
 * The entry of the vmstatedctl bundle, dist/src/cli/vmstatedctl.cjs (built by src/build/bundle.ts,
 * loaded by bin/vmstatedctl.cjs through src/cli/bundle-loader.cts). It exports the commands for
 * oclif, main() for the executable and the command_not_found hook; loading it runs nothing.
 */
export { COMMANDS } from '../../commands/index.js';
export { main } from './main.js';
export { VmstatedctlHelp } from './help.js';
export { commandNotFound as COMMAND_NOT_FOUND } from './command-not-found.js';
