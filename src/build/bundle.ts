/**
 * The second half of `npm run build` (after tsc): `node dist/src/build/bundle.js`.
 *
 * The worker and vmstatedctl each run from one bundled file, made with esbuild from tsc's output:
 * - dist/workers/worker.cjs: one worker per VM stays resident, and every module a process loads
 *   costs memory; one module instead of twenty saves ~1.5 MB private memory per worker, and
 *   CommonJS instead of an ES module ~0.5 MB more and libuv's pool (bundleWorker below).
 * - dist/src/cli/vmstatedctl.cjs: oclif is ~150 CommonJS modules; resolving and compiling them was
 *   most of a `vmstatedctl status`. CommonJS so that bin/vmstatedctl.cjs can load it with V8's code
 *   cache, which this script writes after one run of the bundle (src/cli/bundle-loader.cts).
 * - dist/src/bhyvesim/bhyve-sim.mjs: the simulated bhyve (bin/bhyve-sim.js) starts at every
 *   simulated boot and reboot; one module starts with less CPU, which a reboot storm of 200
 *   simulated guests on two cores feels.
 * Then oclif.manifest.json, which holds every command's flags and arguments so that oclif does not
 * build them at each start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';
import { CLI_BUNDLE_PATH } from '../cli/main.js';
import { writeManifest } from '../cli/manifest.js';
import { writeCliCodeCache } from './cli-code-cache.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const DIST = path.join(ROOT, 'dist');
const CLI_BUNDLE = path.join(ROOT, CLI_BUNDLE_PATH);
const CLI_LOADER = path.join(path.dirname(CLI_BUNDLE), 'bundle-loader.cjs');
const REPLACE_FILE = new URL('../shared/replace-file.js', import.meta.url).href;

const common = { bundle: true, platform: 'node', target: 'node20', logLevel: 'warning', metafile: true } as const;

/**
 * Packages only the daemon loads: prom-client (the metrics) would cost every resident worker its
 * memory and every vmstatedctl its start-up time. A bundle that pulls one in fails the build.
 */
const DAEMON_ONLY = ['prom-client'];

function checkDaemonOnly(bundle: string, metafile: Metafile): void {
  const leaked = Object.keys(metafile.inputs).find((input) => DAEMON_ONLY.some((name) => input.includes(`node_modules/${name}/`)));
  if (leaked !== undefined) throw new Error(`${bundle} includes ${leaked}, which only the daemon may load: find the import that brings it in`);
}

/** An ES module bundle of `entry` (a file under dist/) written beside it as `output`. */
async function bundleModule(entry: string, output: string): Promise<void> {
  const result = await build({ ...common, format: 'esm', entryPoints: [path.join(DIST, entry)], outfile: path.join(DIST, path.dirname(entry), output) });
  checkDaemonOnly(output, result.metafile);
}

/**
 * esbuild's CommonJS interop helper, as it writes it: each `import fs from 'node:fs'` becomes a copy
 * of the module with a getter (a closure) per export. Thirty imports of fs, net, os... made ~1 MB
 * of every worker's heap. The stand-in gives the same reads (named exports through the prototype,
 * `default` the module itself) for one small object per import.
 */
const ESBUILD_TO_ESM = /^var __toESM = \(mod, isNodeMode, target\) => [^]*?\n\)\);\n/m;
const CHEAP_TO_ESM = 'var __toESM = (mod, isNodeMode) => (mod != null && mod.__esModule && !isNodeMode ? mod : { __proto__: mod, default: mod });\n';

/**
 * The worker, as CommonJS: an ES module entry costs every worker Node's ES module loader
 * (~0.5 MB) and libuv's thread pool (4 threads), which starts to read the entry file.
 */
async function bundleWorker(): Promise<void> {
  const outfile = path.join(DIST, 'workers/worker.cjs');
  const result = await build({
    ...common,
    format: 'cjs',
    write: false,
    entryPoints: [path.join(DIST, 'workers/main.js')],
    outfile,
    // CommonJS has no import.meta: the bundle's own URL and directory stand in.
    define: { 'import.meta.url': '__bundle_url', 'import.meta.dirname': '__dirname' },
    banner: { js: "var __bundle_url=require('node:url').pathToFileURL(__filename).href;" },
  });
  checkDaemonOnly(path.basename(outfile), result.metafile);
  const source = result.outputFiles[0]!.text;
  if (!ESBUILD_TO_ESM.test(source)) throw new Error(`${outfile}: esbuild's __toESM helper was not found (esbuild changed?)`);
  // V8 keeps a module's source for its life: one byte per character while it is all ASCII, two for
  // all of it once a single character is not (a comment's arrow cost every worker 140 KB).
  const nonAscii = /[^\x00-\x7f]/.exec(source);
  if (nonAscii !== null) {
    const line = source.slice(0, nonAscii.index).split('\n').length;
    throw new Error(`${outfile}:${line}: '${nonAscii[0]}' is not ASCII (a comment of the worker's sources?): write it in ASCII`);
  }
  fs.writeFileSync(outfile, source.replace(ESBUILD_TO_ESM, CHEAP_TO_ESM));
}

/**
 * Modules oclif requires when it loads but vmstatedctl never uses, replaced by stand-ins:
 * - debug: oclif's DEBUG=oclif:* tracing; loading it (and its terminal colour probe) was ~8 ms of
 *   every start. vmstatedctl's own messages say what happened without it.
 * - tinyglobby: finds command files for oclif's 'pattern' discovery; vmstatedctl's is 'explicit'.
 * - wsl-utils: oclif loads it at every start (child_process, fs/promises, PowerShell helpers) only
 *   to call its platform 'wsl' instead of 'linux'; vmstatedctl never looks at that name.
 * - lilconfig: finds an oclif config in rc files when package.json has none; vmstatedctl's has
 *   one and is passed to oclif (src/cli/main.ts). Loading it loaded fs/promises (5-8 ms).
 */
const UNUSED_BY_VMSTATEDCTL: Record<string, string> = {
  debug: 'module.exports = () => Object.assign(() => {}, { enabled: false });',
  'wsl-utils': 'exports.isWsl = false;',
  tinyglobby: 'exports.glob = async () => { throw new Error("vmstatedctl finds its commands through package.json, not by globbing"); };',
  lilconfig: 'exports.lilconfig = () => { throw new Error("vmstatedctl passes its package.json, with its oclif config, to oclif"); };',
};

/**
 * Indexes @oclif/plugin-not-found (src/cli/command-not-found.ts) imports one function from, each
 * replaced by the module that has it: '@oclif/core', whose index would bundle all of oclif's
 * modules (help, ux, semver) that vmstatedctl itself leaves out by importing subpaths only; and
 * '@inquirer/prompts', whose index brings every prompt (the editor prompt alone brings 0.5 MB of
 * iconv-lite) for the one yes/no question the plugin asks. That question's answer is no unless y
 * is typed (the plugin's is yes): the nearest command to a typo may be `shutdown` or `stop`, and
 * Enter alone must not run a command that nobody typed.
 */
const PLUGIN_NOT_FOUND_IMPORTS: Record<string, string> = {
  '@oclif/core': "exports.toConfiguredId = require('@oclif/core/util/ids').toConfiguredId;",
  '@inquirer/prompts':
    "import inquirerConfirm from '@inquirer/confirm';\nexport const confirm = (config, context) => inquirerConfirm({ ...config, default: false }, context);",
};

const standIns: Plugin = {
  name: 'stand-ins',
  setup(builder) {
    const names = new RegExp(`^(${Object.keys(UNUSED_BY_VMSTATEDCTL).join('|')})$`);
    builder.onResolve({ filter: names }, (args) => ({ path: args.path, namespace: 'stand-in' }));
    builder.onLoad({ filter: /.*/, namespace: 'stand-in' }, (args) => ({ contents: UNUSED_BY_VMSTATEDCTL[args.path], loader: 'js' }));
    builder.onResolve({ filter: /^(@oclif\/core|@inquirer\/prompts)$/ }, (args) => ({ path: args.path, namespace: 'index-stand-in' }));
    builder.onLoad({ filter: /.*/, namespace: 'index-stand-in' }, (args) => ({ contents: PLUGIN_NOT_FOUND_IMPORTS[args.path], loader: 'js', resolveDir: ROOT }));
  },
};

/**
 * Edits to oclif's code as it goes into the bundle. Each must match exactly once, in one file, or
 * the build fails: an oclif upgrade that moves the code is noticed, not silently slower.
 */
interface OclifEdit {
  /** The file's path below @oclif/core/lib/. */
  file: string;
  from: string;
  to: string;
}

const OCLIF_EDITS: OclifEdit[] = [
  // Node modules oclif requires when it loads but uses only on paths vmstatedctl does not take
  // (reading arguments from stdin, WSL detection, performance tracing, looking for TypeScript
  // sources and tsconfig.json, stat-ing plugin directories): each is loaded at its first use
  // instead. fs/promises is the dearest (it loads fs watchers, directories and readline's
  // interface): 5-8 ms of every start.
  lazyRequire('parser/parse.js', 'node_readline_1', 'node:readline'),
  lazyRequire('util/os.js', 'node_child_process_1', 'node:child_process'),
  lazyRequire('performance.js', 'node_perf_hooks_1', 'node:perf_hooks'),
  lazyRequire('util/fs.js', 'promises_1', 'node:fs/promises'),
  lazyRequire('config/ts-path.js', 'promises_1', 'node:fs/promises'),
  lazyRequire('util/read-tsconfig.js', 'promises_1', 'node:fs/promises'),
  // oclif's help (the help classes, their formatter, ejs templates) is for --help and errors
  // that show it; every start loaded it for two small functions of help/util.js.
  {
    file: 'main.js',
    from: 'const help_1 = require("./help");',
    to: 'const help_util_1 = require("./help/util"); const help_1 = new Proxy({}, { get: (_, key) => (key in help_util_1 ? help_util_1 : require("./help"))[key] });',
  },
  lazyRequire('errors/handle.js', 'index_1', '../help/index'),
  lazyRequire('flags.js', 'help_1', './help'),
  lazyDefault('config/config.js', 'ejs_1', 'ejs'),
  lazyDefault('help/util.js', 'ejs_1', 'ejs'),
  // Matches plugin names against patterns, for plugins vmstatedctl does not have.
  lazyRequire('config/plugin-loader.js', 'minimatch_1', 'minimatch'),
  // supports-color probes both terminals when it loads (loading node:tty); oclif asks it only
  // when it colours its own output (help, warnings), which a successful status never does.
  lazyRequire('ux/supports-color.js', 'supports_color_1', 'supports-color'),
  // What oclif's error messages (their stacks, wrapped to the terminal), its colours and its
  // spinner need: ansis probes the terminal when it loads.
  lazyDefault('errors/errors/cli.js', 'clean_stack_1', 'clean-stack'),
  lazyDefault('errors/handle.js', 'clean_stack_1', 'clean-stack'),
  lazyDefault('errors/errors/cli.js', 'wrap_ansi_1', 'wrap-ansi'),
  lazyDefault('errors/errors/pretty-print.js', 'wrap_ansi_1', 'wrap-ansi'),
  lazyDefault('ux/theme.js', 'ansis_1', 'ansis'),
  lazyDefault('ux/action/spinner.js', 'ansis_1', 'ansis'),
  lazyDefault('ux/action/spinner.js', 'cli_spinners_1', 'cli-spinners'),
  {
    // The one fs/promises call of every start: the manifest, read at once (it is read before
    // anything else can run anyway), with the same errors.
    file: 'util/fs.js',
    from: "const contents = await (0, promises_1.readFile)(path, 'utf8');",
    to: "const contents = (0, node_fs_1.readFileSync)(path, 'utf8');",
  },
  {
    // oclif loads the Config three times per run: main() loads it, run() and Command.run() each
    // "reload" the Config they are given (for a plugin whose own copy of oclif is another
    // version, as the debug line says), reading the theme, the environment, the user's shell and
    // the plugins again: ~5 ms each. In the bundle there is one oclif, and the Config it is given
    // is already one of its own: it is used as it is.
    file: 'config/config.js',
    from: '        if (isConfig(opts)) {',
    to: '        if (isConfig(opts) && opts._base === BASE) return opts;\n        if (isConfig(opts)) {',
  },
  // A uid with no passwd entry (a jail's, a container's, a numeric setuid) and no HOME or SHELL:
  // oclif asked the passwd database for the home directory and the shell at every start, and
  // vmstatedctl died of 'uv_os_get_passwd returned ENOENT'. vmstatedctl uses neither.
  {
    file: 'util/os.js',
    from: '    return (0, node_os_1.homedir)();',
    to: '    try { return (0, node_os_1.homedir)(); } catch { return "/nonexistent"; }',
  },
  {
    file: 'util/os.js',
    from: '    const SHELL = process.env.SHELL ?? (0, node_os_1.userInfo)().shell?.split(node_path_1.default.sep)?.pop();',
    to: '    let SHELL = process.env.SHELL;\n    try { SHELL ??= (0, node_os_1.userInfo)().shell?.split(node_path_1.default.sep)?.pop(); } catch { }',
  },
  {
    // oclif measures both terminals' widths when it loads, creating process.stderr (a tty stream, or
    // a socket for a pipe) in every run; the widths are read only to wrap help and error text.
    file: 'screen.js',
    from: 'exports.stdtermwidth = columns || termwidth(process.stdout);\nexports.errtermwidth = columns || termwidth(process.stderr);',
    to: 'Object.defineProperty(exports, "stdtermwidth", { get: () => columns || termwidth(process.stdout) });\nObject.defineProperty(exports, "errtermwidth", { get: () => columns || termwidth(process.stderr) });',
  },
  {
    file: 'config/plugin.js',
    // The first localeCompare of a process builds an ICU collator: 8 ms of every start, to sort
    // command ids that are lowercase ASCII words, whose code-point order is the same.
    from: '.sort((a, b) => a.id.localeCompare(b.id))',
    to: '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))',
  },
];

function lazyRequire(file: string, binding: string, id: string): OclifEdit {
  return {
    file,
    from: `const ${binding} = require("${id}");`,
    to: `const ${binding} = new Proxy({}, { get: (_, key) => require("${id}")[key] });`,
  };
}

/** `const binding = __importDefault(require(id))`, made at the first use of `binding.default`. */
function lazyDefault(file: string, binding: string, id: string): OclifEdit {
  return {
    file,
    from: `const ${binding} = __importDefault(require("${id}"));`,
    to: `const ${binding} = { get default() { return __importDefault(require("${id}")).default; } };`,
  };
}

const OCLIF_LIB = /@oclif[\\/]core[\\/]lib[\\/](.*)$/;

/** Applies OCLIF_EDITS; `applied` counts each edit's files, which the build checks afterwards. */
function oclifEdits(applied: Map<OclifEdit, number>): Plugin {
  return {
    name: 'oclif-edits',
    setup(builder) {
      const files = new Set(OCLIF_EDITS.map((edit) => edit.file));
      builder.onLoad({ filter: OCLIF_LIB }, async (args) => {
        const file = OCLIF_LIB.exec(args.path)![1]!.split(path.sep).join('/');
        if (!files.has(file)) return undefined;
        let source = await fs.promises.readFile(args.path, 'utf8');
        for (const edit of OCLIF_EDITS.filter((candidate) => candidate.file === file)) {
          const parts = source.split(edit.from);
          if (parts.length !== 2) throw new Error(`${args.path}: expected "${edit.from}" once, found it ${parts.length - 1} times (oclif changed?)`);
          source = parts.join(edit.to);
          applied.set(edit, (applied.get(edit) ?? 0) + 1);
        }
        return { contents: source, loader: 'js' };
      });
    },
  };
}

function checkOclifEdits(applied: Map<OclifEdit, number>): void {
  const missed = OCLIF_EDITS.filter((edit) => applied.get(edit) !== 1);
  if (missed.length > 0) throw new Error(`oclif edits not made exactly once (oclif changed?): ${missed.map((edit) => `${edit.file}: ${edit.from}`).join('; ')}`);
}

async function bundleCli(): Promise<void> {
  const applied = new Map<OclifEdit, number>();
  const result = await build({
    ...common,
    format: 'cjs',
    minify: true,
    entryPoints: [path.join(DIST, 'src/cli/bundle-entry.js')],
    outfile: CLI_BUNDLE,
    // CommonJS has no import.meta: the bundle's own URL stands in (it sits where main.js does).
    define: { 'import.meta.url': '__bundle_url' },
    banner: { js: "var __bundle_url=require('node:url').pathToFileURL(__filename).href;" },
    // oclif looks for these only to run TypeScript sources in development; vmstatedctl never does.
    external: ['typescript', 'ts-node', 'tsx'],
    plugins: [standIns, oclifEdits(applied)],
  });
  checkOclifEdits(applied);
  checkDaemonOnly(path.basename(CLI_BUNDLE), result.metafile);
  asciiOnly(CLI_BUNDLE);
}

/**
 * Escapes the characters esbuild leaves unescaped (a regular expression of ansis holds a raw
 * U+009B): one of them makes V8 hold the whole bundle as a two-byte string, and reading it at
 * each start costs twice the time of an ASCII file. An escape means the same in a string, a
 * regular expression or an identifier; the bundle has no String.raw template that holds one.
 */
function asciiOnly(file: string): void {
  const source = fs.readFileSync(file, 'utf8');
  const ascii = source.replace(/[^\x00-\x7f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (ascii !== source) fs.writeFileSync(file, ascii);
}

await bundleWorker();
await bundleModule('src/bhyvesim/bhyve.js', 'bhyve-sim.mjs');
await bundleCli();
const manifest = await writeManifest(ROOT);
const cache = await writeCliCodeCache(CLI_LOADER, REPLACE_FILE);
process.stdout.write(`bundles: dist/workers/worker.cjs, dist/src/bhyvesim/bhyve-sim.mjs, ${CLI_BUNDLE_PATH} (+ ${path.relative(ROOT, cache)}), ${path.relative(ROOT, manifest)}
`);
