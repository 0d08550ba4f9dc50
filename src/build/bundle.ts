/**
 * The second half of `npm run build` (after tsc): `node dist/src/build/bundle.js`.
 *
 * The worker and vmstatedctl each run from one bundled file, made with esbuild from tsc's output:
 * - dist/workers/worker.mjs: one worker per VM stays resident, and every module a process loads
 *   costs memory; one module instead of twenty saves ~1.5 MB private memory per worker.
 * - dist/src/cli/vmstatedctl.cjs: oclif is ~150 CommonJS modules; resolving and compiling them was
 *   most of a `vmstatedctl status`. CommonJS so that bin/vmstatedctl.cjs can load it with V8's code
 *   cache, which this script writes after one run of the bundle (src/cli/bundle-loader.cts).
 * - dist/src/bhyvesim/bhyve-sim.mjs: the simulated bhyve (bin/bhyve-sim.js) starts at every
 *   simulated boot and reboot; one module starts with less CPU, which a reboot storm of 200
 *   simulated guests on two cores feels.
 * Then oclif.manifest.json, which holds every command's flags and arguments so that oclif does not
 * build them at each start.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { writeManifest } from '../cli/manifest.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const DIST = path.join(ROOT, 'dist');
const CLI_LOADER = path.join(DIST, 'src/cli/bundle-loader.cjs');

const common = { bundle: true, platform: 'node', target: 'node20', logLevel: 'warning' } as const;

/** An ES module bundle of `entry` (a file under dist/) written beside it as `output`. */
async function bundleModule(entry: string, output: string): Promise<void> {
  await build({ ...common, format: 'esm', entryPoints: [path.join(DIST, entry)], outfile: path.join(DIST, path.dirname(entry), output) });
}

/**
 * Modules oclif requires when it loads but vmstatedctl never uses, replaced by stand-ins:
 * - debug: oclif's DEBUG=oclif:* tracing; loading it (and its terminal colour probe) was ~8 ms of
 *   every start. vmstatedctl's own messages say what happened without it.
 * - tinyglobby: finds command files for oclif's 'pattern' discovery; vmstatedctl's is 'explicit'.
 * - wsl-utils: oclif loads it at every start (child_process, fs/promises, PowerShell helpers) only
 *   to call its platform 'wsl' instead of 'linux'; vmstatedctl never looks at that name.
 */
const UNUSED_BY_VMSTATEDCTL: Record<string, string> = {
  debug: 'module.exports = () => Object.assign(() => {}, { enabled: false });',
  'wsl-utils': 'exports.isWsl = false;',
  tinyglobby: 'exports.glob = async () => { throw new Error("vmstatedctl finds its commands through package.json, not by globbing"); };',
};

const standIns: Plugin = {
  name: 'stand-ins',
  setup(builder) {
    const names = new RegExp(`^(${Object.keys(UNUSED_BY_VMSTATEDCTL).join('|')})$`);
    builder.onResolve({ filter: names }, (args) => ({ path: args.path, namespace: 'stand-in' }));
    builder.onLoad({ filter: /.*/, namespace: 'stand-in' }, (args) => ({ contents: UNUSED_BY_VMSTATEDCTL[args.path], loader: 'js' }));
  },
};

async function bundleCli(): Promise<void> {
  await build({
    ...common,
    format: 'cjs',
    minify: true,
    entryPoints: [path.join(DIST, 'src/cli/bundle-entry.js')],
    outfile: path.join(DIST, 'src/cli/vmstatedctl.cjs'),
    // CommonJS has no import.meta: the bundle's own URL stands in (it sits where main.js does).
    define: { 'import.meta.url': '__bundle_url' },
    banner: { js: "var __bundle_url=require('node:url').pathToFileURL(__filename).href;" },
    // oclif looks for these only to run TypeScript sources in development; vmstatedctl never does.
    external: ['typescript', 'ts-node', 'tsx'],
    plugins: [standIns],
  });
}

/**
 * Runs the bundle once (a `status` against a socket that does not exist: configuration, command
 * lookup, flag parsing, the connection attempt and the error path) and saves V8's code cache of
 * everything that run compiled.
 */
function writeCliCodeCache(): string {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'vmstatedctl-build-'));
  try {
    const warmUp = [
      'const fs = require("node:fs");',
      'const [loader, socket] = process.argv.slice(1);',
      'const { loadCli, CLI_CODE_CACHE } = require(loader);',
      'const cli = loadCli();',
      'process.on("exit", () => { fs.writeFileSync(CLI_CODE_CACHE + ".tmp", cli.script.createCachedData()); fs.renameSync(CLI_CODE_CACHE + ".tmp", CLI_CODE_CACHE); });',
      'cli.main(["-s", socket, "status"]);',
    ].join('\n');
    const run = spawnSync(process.execPath, ['-e', warmUp, CLI_LOADER, path.join(scratch, 'none.sock')], { encoding: 'utf8' });
    if (!/cannot connect to vmstated/.test(run.stderr)) throw new Error(`the vmstatedctl bundle did not run as expected:\n${run.stderr}`);
    return `${path.join(DIST, 'src/cli/vmstatedctl.cjs')}.cache`;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

await bundleModule('workers/main.js', 'worker.mjs');
await bundleModule('src/bhyvesim/bhyve.js', 'bhyve-sim.mjs');
await bundleCli();
const manifest = await writeManifest(ROOT);
const cache = writeCliCodeCache();
process.stdout.write(`bundles: dist/workers/worker.mjs, dist/src/bhyvesim/bhyve-sim.mjs, dist/src/cli/vmstatedctl.cjs (+ ${path.relative(ROOT, cache)}), ${path.relative(ROOT, manifest)}\n`);
