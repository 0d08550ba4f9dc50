/**
 * Reading the files workers leave in the run directory: worker records (`<vm>.worker.json`) and
 * specs (`<vm>.spec.json`). They are hints, never trusted as they stand: anything that does not
 * have the expected shape is refused here (null, or an error saying what is wrong), and what they
 * claim about processes is checked against the process table before anyone acts on it
 * (workers/run-check.ts). Every reader of these files goes through this module.
 */
import path from 'node:path';
import { VM_NAME } from '../src/config/keys.js';
import type { VmConfig } from '../src/config/types.js';
import type { BhyveRun, WorkerRecord, WorkerSpec } from './api.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A pid a record may name: never 0, -1 or below (kill(2) reads those as groups), never init. */
function isPid(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 1 && (value as number) < 2 ** 31;
}

function isOffset(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A pid, a ps start time or nothing: anything else makes the whole run unreadable. */
function nullable<T>(value: unknown, check: (value: unknown) => value is T): T | null | undefined {
  if (value === null || value === undefined) return null;
  return check(value) ? value : undefined;
}

function isStartTime(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 64;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.length <= 64 && value.every((item) => typeof item === 'string' && item.length <= 4096);
}

/** A recorded bhyve run, or null when it is not one. */
export function parseBhyveRun(value: unknown): BhyveRun | null {
  if (!isObject(value) || !isPid(value.bhyvePid) || !isStringArray(value.argv) || !isObject(value.output)) return null;
  const keeperPid = nullable(value.keeperPid, isPid);
  const keeperStartedAt = nullable(value.keeperStartedAt, isStartTime);
  const bhyveStartedAt = nullable(value.bhyveStartedAt, isStartTime);
  const { stdout, stderr } = value.output;
  if (keeperPid === undefined || keeperStartedAt === undefined || bhyveStartedAt === undefined || !isOffset(stdout) || !isOffset(stderr)) return null;
  return { bhyvePid: value.bhyvePid, bhyveStartedAt, keeperPid, keeperStartedAt, argv: value.argv, output: { stdout, stderr } };
}

/** A worker record, or null when the text is not one. A bad `run` makes it a record without a run. */
export function parseWorkerRecord(text: string): WorkerRecord | null {
  const record = parseJson(text);
  if (!isObject(record) || typeof record.vm !== 'string' || !VM_NAME.test(record.vm) || !isPid(record.workerPid) || typeof record.socket !== 'string') return null;
  const run = parseBhyveRun(record.run);
  const bhyvePid = run?.bhyvePid ?? (isPid(record.bhyvePid) ? record.bhyvePid : null);
  const history = Array.isArray(record.restartHistory) ? record.restartHistory.filter((time): time is number => Number.isFinite(time)).slice(-1000) : [];
  const startedAt = typeof record.startedAt === 'string' ? record.startedAt : '';
  return { vm: record.vm, workerPid: record.workerPid, bhyvePid, run, socket: record.socket, startedAt, restartHistory: history };
}

const REQUIRED_STRINGS = ['name', 'file', 'dir', 'configfile', 'scriptpath'] as const;
const REQUIRED_NUMBERS = ['maxrestart', 'maxrestarttime', 'startorder', 'startdelay', 'stoptimeout', 'hooktimeout'] as const;
const OPTIONAL_STRINGS = ['os', 'osversion', 'owner', 'group', 'description', 'bootrom'] as const;
const OPTIONAL_NUMBERS = ['memoryMiB', 'cpus', 'sockets', 'cores', 'threads'] as const;
const OPTIONAL_BOOLEANS = ['generateAcpiTables', 'vmexitOnHalt'] as const;

/** Why `value` is not a VmConfig, or null when it is one. */
function vmConfigProblem(value: unknown): string | null {
  if (!isObject(value)) return 'vm is not an object';
  for (const key of REQUIRED_STRINGS) if (typeof value[key] !== 'string' || value[key] === '') return `vm.${key} is missing`;
  for (const key of REQUIRED_NUMBERS) if (typeof value[key] !== 'number' || !Number.isFinite(value[key])) return `vm.${key} is not a number`;
  if (typeof value.autostart !== 'boolean') return 'vm.autostart is not a boolean';
  for (const key of OPTIONAL_STRINGS) if (value[key] !== undefined && typeof value[key] !== 'string') return `vm.${key} is not a string`;
  for (const key of OPTIONAL_NUMBERS) if (value[key] !== undefined && !Number.isFinite(value[key])) return `vm.${key} is not a number`;
  for (const key of OPTIONAL_BOOLEANS) if (value[key] !== undefined && typeof value[key] !== 'boolean') return `vm.${key} is not a boolean`;
  return null;
}

/** Why `spec` is not a worker spec, or null when it is one. */
function specProblem(spec: unknown): string | null {
  if (!isObject(spec)) return 'not a JSON object';
  const vm = vmConfigProblem(spec.vm);
  if (vm !== null) return vm;
  if (!VM_NAME.test((spec.vm as { name: string }).name)) return 'vm.name is not a VM name';
  for (const key of ['rundir', 'logdir', 'bhyve', 'bhyvectl'] as const) {
    if (typeof spec[key] !== 'string' || !path.isAbsolute(spec[key])) return `${key} is not an absolute path`;
  }
  if (spec.adopt !== undefined && parseBhyveRun(spec.adopt) === null) return 'adopt is not a bhyve run';
  return null;
}

/** A worker spec; throws with what is wrong when the text is not one. */
export function parseWorkerSpec(text: string, file: string): WorkerSpec {
  const spec = parseJson(text);
  const problem = specProblem(spec);
  if (problem !== null || !isObject(spec)) throw new Error(`${file}: not a worker spec: ${problem}`);
  const adopt = spec.adopt === undefined ? null : parseBhyveRun(spec.adopt);
  const history = Array.isArray(spec.restartHistory) ? spec.restartHistory.filter((time): time is number => Number.isFinite(time)) : undefined;
  return {
    vm: spec.vm as unknown as VmConfig,
    rundir: spec.rundir as string,
    logdir: spec.logdir as string,
    bhyve: spec.bhyve as string,
    bhyvectl: spec.bhyvectl as string,
    verbose: spec.verbose === true,
    ...(adopt !== null ? { adopt } : {}),
    ...(history !== undefined ? { restartHistory: history } : {}),
  };
}

/** The VM config in a spec left by a dead worker, if it is one for `vm`; null otherwise. */
export function specVmConfig(text: string, vm: string): VmConfig | null {
  const spec = parseJson(text);
  if (!isObject(spec) || vmConfigProblem(spec.vm) !== null) return null;
  const config = spec.vm as unknown as VmConfig;
  return config.name === vm ? config : null;
}
