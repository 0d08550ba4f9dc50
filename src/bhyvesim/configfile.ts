/**
 * bhyve's configuration variables, read the way bhyve(8) reads them: `-k` files of `key=value`
 * lines (a `#` in the first column or an empty line is skipped, nothing is trimmed or unquoted,
 * the last assignment wins) and `-o key=value` options.
 */
import fs from 'node:fs';
import { bhyveFileLines, splitConfigOption } from '../config/bhyve-file.js';
import { SimExit } from './failure.js';
import { EX_USAGE } from '../shared/sysexits.js';

export type BhyveConfig = Map<string, string>;

/** bhyve's defaults (set_defaults() in bhyverun.c). */
export function defaultConfig(): BhyveConfig {
  return new Map([
    ['acpi_tables', 'false'],
    ['memory.size', '256M'],
    ['x86.strictmsr', 'true'],
  ]);
}

/** One `key=value`; false (as bhyve) when there is no `=` or the value is empty; also for an empty key. */
export function parseConfigOption(option: string, config: BhyveConfig): boolean {
  const split = splitConfigOption(option);
  if (split === null) return false;
  config.set(...split);
  return true;
}

/** Reads a `-k` file into config; a missing file or a bad line ends bhyve with status 4. */
export function loadConfigFile(file: string, config: BhyveConfig): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const reason = describeErrno(error as NodeJS.ErrnoException);
    throw new SimExit(4, `bhyve: Failed to open configuration file ${file}: ${reason}`);
  }
  for (const { line, text: option } of bhyveFileLines(text)) {
    if (!parseConfigOption(option, config)) throw new SimExit(4, `bhyve: ${file} line ${line}: invalid config option '${option}'`);
  }
}

/** The strerror(3) text for the errors a config file open can hit. */
export function describeErrno(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT': return 'No such file or directory';
    case 'EACCES': return 'Permission denied';
    case 'EISDIR': return 'Is a directory';
    case 'ENOTDIR': return 'Not a directory';
    default: return error.message;
  }
}

/** A boolean variable (config.c: true/on/yes/1, false/off/no/0); anything else ends bhyve with 4. */
export function configBool(config: BhyveConfig, key: string, fallback: boolean): boolean {
  const value = config.get(key);
  if (value === undefined) return fallback;
  const lower = value.toLowerCase();
  if (['true', 'on', 'yes', '1'].includes(lower)) return true;
  if (['false', 'off', 'no', '0'].includes(lower)) return false;
  throw new SimExit(4, `bhyve: Invalid value ${value} for boolean variable ${key}`);
}

const MiB = 1024 * 1024;
const SUFFIX_SHIFT: Record<string, number> = { k: 10, m: 20, g: 30, t: 40, p: 50, e: 60 };

/**
 * vm_parse_memsize(): a plain number below 1 MiB means megabytes (backward compatibility),
 * otherwise bytes; a number with a k/m/g/t/p/e suffix is binary units (expand_number(3)).
 */
export function parseMemsize(value: string): number | null {
  if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(value)) {
    const number = Number(value);
    return number < MiB ? number * MiB : number;
  }
  const match = /^([0-9]+)([kmgtpe])b?$/i.exec(value);
  if (match === null) return null;
  return Number(match[1]) * 2 ** SUFFIX_SHIFT[match[2].toLowerCase()];
}

/** The guest memory from `memory.size`; an invalid size ends bhyve with EX_USAGE, as bhyve does. */
export function memoryBytes(config: BhyveConfig): number {
  const value = config.get('memory.size') ?? '256M';
  const bytes = parseMemsize(value);
  if (bytes === null) throw new SimExit(EX_USAGE, `bhyve: invalid memsize '${value}'`);
  return bytes;
}

function topologyValue(config: BhyveConfig, key: string): number | null {
  const value = config.get(key);
  if (value === undefined) return null;
  const number = /^(0x[0-9a-f]+|[0-9]+)$/i.test(value) ? Number(value) : NaN;
  if (!(number >= 1 && number <= 0xffff)) throw new SimExit(4, `bhyve: Invalid value for ${key}: '${value}'`);
  return number;
}

/** calc_topolopgy(): the vCPU count; cpus != sockets*cores*threads ends bhyve with 4. */
export function guestCpus(config: BhyveConfig): number {
  const cpus = topologyValue(config, 'cpus');
  const cores = topologyValue(config, 'cores') ?? 1;
  const threads = topologyValue(config, 'threads') ?? 1;
  const sockets = topologyValue(config, 'sockets') ?? cpus ?? 1;
  const product = sockets * cores * threads;
  if (product > 0xffff) throw new SimExit(4, `bhyve: Computed number of vCPUs too high: ${product}`);
  if (cpus !== null && cpus !== product) {
    throw new SimExit(4, `bhyve: Topology (${sockets} sockets, ${cores} cores, ${threads} threads) does not match ${cpus} vCPUs`);
  }
  return product;
}
