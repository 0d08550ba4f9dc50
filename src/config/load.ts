/**
 * Loading `<configdir>/<dir>/config` files: one VM per file, in directory-name order. One bad
 * file never stops the others; every problem is kept with its position.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { FileRefusal, readTrustedFileSync } from '../shared/safe-read.js';
import { parseUclFile, UclError, type UclObjectNode } from '../ucl/index.js';
import { KIND, ProblemList, WHOLE_FILE } from './problems.js';
import { checkTrustedDirectory } from './trust.js';
import type { ConfigDirLoad, ConfigProblem, RejectedVm, VmConfig } from './types.js';
import { readVm, type VmRead } from './vm.js';

/** The name of the config file in each VM directory. */
export const CONFIG_FILE_NAME = 'config';

/** One config file, read. */
export interface VmConfigLoad extends VmRead {
  /** The config file (absolute). */
  file: string;
  /** Its problems in source order. `vm` is set only when none of them is an error. */
  problems: ConfigProblem[];
}

interface PendingLoad extends VmRead {
  file: string;
  problems: ProblemList;
}

/** Read one VM config file on its own (no check of names against other VMs). */
export async function loadVmConfig(file: string): Promise<VmConfigLoad> {
  const pending = await readConfigFile(path.resolve(file));
  return finish(pending);
}

/**
 * Read every VM of a config directory. Throws (naming the path) only when the directory itself
 * cannot be read; problems with single VMs are returned, with those VMs left out of `vms`.
 */
export async function loadConfigDir(configdir: string): Promise<ConfigDirLoad> {
  const files = await configFiles(path.resolve(configdir));
  const pending = await Promise.all(files.map(readConfigFile));
  rejectDuplicateNames(pending);
  const loads = pending.map(finish);
  const vms: VmConfig[] = [];
  const rejected: RejectedVm[] = [];
  for (const load of loads) {
    if (load.vm) vms.push(load.vm);
    else rejected.push({ file: load.file, ...(load.name !== undefined && { name: load.name }), problems: load.problems });
  }
  return { vms, problems: loads.flatMap((load) => load.problems), rejected };
}

/** `<configdir>/*\/config`, sorted by directory name; hidden directories are skipped. */
async function configFiles(configdir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(configdir);
  } catch (err) {
    throw new Error(`cannot read config directory ${configdir}: ${errnoText(err)}`);
  }
  const sorted = names.filter((name) => !name.startsWith('.')).sort(byCodeUnits);
  const found = await Promise.all(sorted.map(async (name) => {
    const file = path.join(configdir, name, CONFIG_FILE_NAME);
    const isVmDir = await fs.stat(path.join(configdir, name)).then((s) => s.isDirectory(), () => false);
    const hasConfig = isVmDir && await fs.lstat(file).then(() => true, () => false);
    return hasConfig ? file : undefined;
  }));
  return found.filter((file): file is string => file !== undefined);
}

/**
 * One config file. Its directory, the file and each file it includes must pass the trust rule
 * (src/config/trust.ts) before a byte of it is parsed: an untrusted config could claim another
 * VM's name and get that VM rejected as a duplicate.
 */
async function readConfigFile(file: string): Promise<PendingLoad> {
  const problems = new ProblemList(file);
  if (!checkTrustedDirectory(path.dirname(file), 'VM directory', WHOLE_FILE, problems)) return { file, problems };
  let root: UclObjectNode;
  try {
    root = parseUclFile(file, { filename: file, readFile: (included) => readTrustedFileSync(included), isRefusal: isUntrusted });
  } catch (err) {
    reportUnparsed(file, err, problems);
    return { file, problems };
  }
  try {
    return { ...(await readVm(root, file, problems)), file, problems };
  } catch (err) {
    // A bug here must not keep the other VMs from loading.
    problems.error(WHOLE_FILE, `internal error while checking this config (please report it): ${(err as Error).message}`, KIND.internal);
    return { file, problems };
  }
}

/** A file not trusted is an error wherever it is included, with .include(try=true) too. */
function isUntrusted(error: unknown): boolean {
  return error instanceof FileRefusal && error.kind === 'file not trusted';
}

function reportUnparsed(file: string, err: unknown, problems: ProblemList): void {
  if (!(err instanceof UclError)) {
    problems.error(WHOLE_FILE, `cannot read ${file}: ${errnoText(err)}`, KIND.unreadable);
    return;
  }
  const refusal = err.cause instanceof FileRefusal ? err.cause : null;
  const unreadableItself = refusal !== null && err.line === 0;
  problems.error(
    { file: err.file, line: err.line, column: err.column },
    unreadableItself ? refusal.message : err.message,
    refusal?.summary ?? KIND.syntax,
  );
}

/** Two config files naming the same VM: neither is loaded, and each error names all the files. */
function rejectDuplicateNames(loads: PendingLoad[]): void {
  const byName = new Map<string, PendingLoad[]>();
  for (const load of loads) {
    if (load.name === undefined) continue;
    byName.set(load.name, [...(byName.get(load.name) ?? []), load]);
  }
  for (const [name, same] of byName) {
    if (same.length < 2) continue;
    const files = same.map((load) => load.file).join(', ');
    for (const load of same) {
      load.problems.error(load.nameAt ?? WHOLE_FILE, `VM name ${name} is used by ${same.length} config files ` +
        `(${files}): none of them is loaded until each VM has its own name`, KIND.duplicateName);
      delete load.vm;
    }
  }
}

function finish(load: PendingLoad): VmConfigLoad {
  const { problems, ...read } = load;
  return { ...read, problems: problems.finish() };
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
      return 'permission denied';
    case 'ENOTDIR':
      return 'not a directory';
    case 'EISDIR':
      return 'is a directory';
    default:
      return e.message ?? String(err);
  }
}
