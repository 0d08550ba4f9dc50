/**
 * Loads the vmstatedctl bundle, dist/src/cli/vmstatedctl.cjs (src/build/bundle.ts), as require()
 * would, but with V8's code cache (vmstatedctl.cjs.cache, written by the build). Compiling oclif
 * and the commands is most of a cold start's cost; with the cache V8 skips it. A cache that does
 * not match the bundle or this Node's V8 is rejected by V8, and the bundle is simply compiled.
 * (Node 22 has module.enableCompileCache() for this; Node 20 does not.)
 */
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import type * as BundleEntry from './bundle-entry.js';

export const CLI_BUNDLE = path.join(__dirname, 'vmstatedctl.cjs');
export const CLI_CODE_CACHE = `${CLI_BUNDLE}.cache`;

export interface LoadedCli {
  main: typeof BundleEntry.main;
  /** Written to CLI_CODE_CACHE by the build, after a run has compiled what a run needs. */
  script: vm.Script;
}

type ModuleWrapper = (exports: object, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;

export function loadCli(): LoadedCli {
  const source = readBundle();
  const script = new vm.Script(Module.wrap(source), { filename: CLI_BUNDLE, cachedData: readCodeCache() });
  const bundle = new Module(CLI_BUNDLE, module);
  bundle.filename = CLI_BUNDLE;
  const requireFromBundle = Module.createRequire(CLI_BUNDLE);
  // oclif's explicit command discovery require()s this same file: it must find this module in
  // the cache, not load and run a second copy of the bundle.
  requireFromBundle.cache[CLI_BUNDLE] = bundle;
  (script.runInThisContext() as ModuleWrapper).call(bundle.exports, bundle.exports, requireFromBundle, bundle, CLI_BUNDLE, __dirname);
  bundle.loaded = true;
  return { main: (bundle.exports as typeof BundleEntry).main, script };
}

function readBundle(): string {
  try {
    return fs.readFileSync(CLI_BUNDLE, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${CLI_BUNDLE} (${(error as NodeJS.ErrnoException).code}): is vmstated built? (npm run build)`);
  }
}

function readCodeCache(): Buffer | undefined {
  try {
    return fs.readFileSync(CLI_CODE_CACHE);
  } catch {
    return undefined; // not built with a cache: compile
  }
}
