/**
 * Checking a recorded bhyve run against the process table before anyone acts on it: a worker
 * record is a hint, and a pid in it may since belong to any process. A run is taken over only when
 * its keeper is that VM's keeper (its command line names the VM's FIFO) started when the record
 * says, or, without a keeper, when its bhyve is that VM's bhyve (by the title bhyverun.c sets, or
 * the command line it was launched with) started when the record says, as our user. Used by the registry (re-attach) and by the worker that takes the
 * run over, just before it does.
 */
import type { BhyveRun } from './api.js';
import { isKeeperCommand, readExitRecord } from './keeper.js';
import { workerFiles } from './worker-files.js';
import { isBhyveOf, readProcesses, type ProcessEntry } from '../src/shared/process-table.js';

export type Adoption =
  /**
   * The keeper runs: the run is watched through it; bhyve's exit status will be known.
   * `bhyveRuns` is false when the keeper has reaped bhyve already (and is about to record it): its
   * pid is then nobody's to signal.
   */
  | { kind: 'kept'; run: BhyveRun; bhyveRuns: boolean }
  /** The keeper has gone, after recording how bhyve ended (while no worker was there). */
  | { kind: 'finished'; run: BhyveRun; status: number }
  /** bhyve runs without a keeper (killed, or never had one): watched by its pid, exit status unknown. */
  | { kind: 'unkept'; run: BhyveRun; why: string }
  /** Nothing the record names is this VM's any more: not to be touched. */
  | { kind: 'stale'; run: BhyveRun; why: string };

function startsAsRecorded(entry: ProcessEntry, recorded: string | null): boolean {
  return recorded === null || entry.startedAt === recorded;
}

/**
 * Whether `entry` is the bhyve of `run`, a run of VM `vm`: that VM's bhyve (its title, or the
 * command line the run launched), started when the record says, and running as our user, as the
 * keeper we started it from did (no other user's process is ever taken for it, even while the
 * record has no start time yet).
 */
export function isRunsBhyve(entry: ProcessEntry, vm: string, run: BhyveRun): boolean {
  return entry.uid === process.getuid?.() && isBhyveOf(entry, vm, run.argv) && startsAsRecorded(entry, run.bhyveStartedAt);
}

function describe(entry: ProcessEntry | undefined, pid: number): string {
  return entry === undefined ? `no process has pid ${pid}` : `pid ${pid} is "${entry.args.slice(0, 200)}", started ${entry.startedAt}`;
}

export async function checkRun(vm: string, rundir: string, run: BhyveRun): Promise<Adoption> {
  const files = workerFiles(rundir, vm);
  const pids = run.keeperPid === null ? [run.bhyvePid] : [run.keeperPid, run.bhyvePid];
  const table = await readProcesses(pids);
  const bhyve = table.get(run.bhyvePid);
  if (run.keeperPid !== null) {
    const keeper = table.get(run.keeperPid);
    if (keeper !== undefined && isKeeperCommand(keeper.args, files.keeperFifo) && startsAsRecorded(keeper, run.keeperStartedAt)) {
      const bhyveRuns = bhyve !== undefined && bhyve.ppid === keeper.pid && startsAsRecorded(bhyve, run.bhyveStartedAt);
      return { kind: 'kept', run, bhyveRuns };
    }
    const status = readExitRecord(files.bhyveExit, run.keeperPid);
    if (status !== null) return { kind: 'finished', run, status };
  }
  if (bhyve !== undefined && isRunsBhyve(bhyve, vm, run)) {
    const why = run.keeperPid === null ? 'it has no keeper' : `its keeper (pid ${run.keeperPid}) is gone without recording how bhyve ended`;
    return await withKeeperOf(bhyve, files.keeperFifo, run, why);
  }
  const keeperWords = run.keeperPid === null ? '' : `its keeper: ${describe(table.get(run.keeperPid), run.keeperPid)}; `;
  return { kind: 'stale', run, why: `not ${vm}'s bhyve run any more (${keeperWords}its bhyve: ${describe(bhyve, run.bhyvePid)})` };
}

/**
 * A bhyve found without the keeper the record names may still have one: when its parent is this
 * VM's keeper (a record written before the launch, or none at all), the run is kept after all.
 */
async function withKeeperOf(bhyve: ProcessEntry, fifo: string, run: BhyveRun, why: string): Promise<Adoption> {
  if (bhyve.ppid <= 1 || bhyve.ppid === run.keeperPid) return { kind: 'unkept', run, why };
  const parent = (await readProcesses([bhyve.ppid])).get(bhyve.ppid);
  if (parent === undefined || !isKeeperCommand(parent.args, fifo)) return { kind: 'unkept', run, why };
  return { kind: 'kept', run: { ...run, keeperPid: parent.pid, keeperStartedAt: parent.startedAt, bhyveStartedAt: bhyve.startedAt }, bhyveRuns: true };
}
