/**
 * The entry of the vmstatedctl bundle, dist/src/cli/vmstatedctl.cjs (built by src/build/bundle.ts,
 * loaded by bin/vmstatedctl.cjs through src/cli/bundle-loader.cts). It exports the commands for
 * oclif, main() for the executable and the command_not_found hook; loading it runs nothing.
 */
import type * as Help from './help.js';

export { COMMANDS } from '../../commands/index.js';
export { main } from './main.js';
export { commandNotFound as COMMAND_NOT_FOUND } from './command-not-found.js';

/**
 * VmstatedctlHelp (package.json `oclif.helpClass`) extends oclif's Help, which brings its
 * formatter and colour libraries: help.js is loaded when oclif first uses the class (to show
 * help), not at every start. `require` exists in the CommonJS bundle only, where esbuild turns it
 * into help.js's initialisation.
 */
const loadHelp = (): typeof Help.VmstatedctlHelp => (require('./help.js') as typeof Help).VmstatedctlHelp;
export const VmstatedctlHelp = new Proxy(function VmstatedctlHelp() {} as unknown as typeof Help.VmstatedctlHelp, {
  construct: (_target, args) => Reflect.construct(loadHelp(), args) as object,
  get: (_target, key) => Reflect.get(loadHelp(), key) as unknown,
});
