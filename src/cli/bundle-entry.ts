/**
 * The entry of the vmstatedctl bundle, dist/src/cli/vmstatedctl.cjs (built by src/build/bundle.ts,
 * loaded by bin/vmstatedctl.cjs through src/cli/bundle-loader.cts). It exports the commands for
 * oclif and main() for the executable; loading it runs nothing.
 */
export { COMMANDS } from '../../commands/index.js';
export { main } from './main.js';
export { VmstatedctlHelp } from './help.js';
