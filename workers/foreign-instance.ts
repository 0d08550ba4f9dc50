/**
 * Only our own vmm instances: a cold start destroys a stale /dev/vmm/NAME before launching bhyve
 * (bhyvectl --destroy, usr.sbin/bhyvectl/bhyvectl.c, destroys whatever instance has that name,
 * running or not). A bhyve of the same name that vmstated did not start (run by hand, by another
 * manager) would be killed on the spot. So before the start does anything, the process table is
 * searched for a bhyve of that name (its title is `bhyve: NAME`, set by setproctitle() in
 * usr.sbin/bhyve/bhyverun.c; src/shared/process-table.ts); if one runs that is not this worker's
 * own, the start fails and nothing is destroyed. An instance with no bhyve is destroyed as before.
 *
 * A running bhyve always holds its instance (bhyverun.c, do_open(): vm_create()/vm_open() come
 * before the guest runs), so without /dev/vmm/NAME there is nothing to search for: the usual cold
 * start (the instance was destroyed at the last stop) costs a stat, not a scan of every process.
 *
 * A simulated bhyve belongs to the kernel of its state dir (src/bhyvesim/title.ts): one of another
 * state dir is not a VM of ours to protect. Real bhyve runs only on FreeBSD: elsewhere a process
 * titled `bhyve: NAME` without a simulator's tag is no VM at all.
 *
 * Any user may give a process any title (setproctitle(3)), and must not block our VM's start with
 * one. Who can run a VM is who can use /dev/vmmctl: root alone where it is root's 0600 (FreeBSD 14,
 * sys/amd64/vmm/vmm_dev.c), also the group `vmm` where it is 0660 (FreeBSD 15, sys/dev/vmm/vmm_dev.c).
 * So a titled process of a user other than ours (root, or the daemon's own user when it does not
 * run as root) is no VM, unless vmmctl is open to a group: then it counts, as we cannot rule out
 * that it is one.
 *
 * A bhyve stand-in other than our simulator (`vmstated --bhyve`), off FreeBSD, keeps its instances
 * where we cannot see them: the process table is searched at every cold start, and a process of
 * that VM counts whether it titled itself `bhyve: NAME` or runs the stand-in's program with NAME
 * last (`/usr/local/bin/fake-bhyve -k web.cfg web`, or after the interpreter of a script).
 */
import { isBhyveOf, readProcessTable, runsProgramFor, type ProcessEntry } from '../src/shared/process-table.js';
import fs from 'node:fs';
import path from 'node:path';
import { simStateDir, vmmRecordPath } from '../src/bhyvesim/paths.js';
import { simKernelTag, simKernelTagOf } from '../src/bhyvesim/title.js';
import { SequenceFailure } from './sequence-failure.js';

/** Whether a bhyve process runs on our kernel: a real one on FreeBSD, or a simulated one of our state dir. */
export function onOurKernel(entry: ProcessEntry, ourSimKernel: string, platform: NodeJS.Platform = process.platform): boolean {
  const kernel = simKernelTagOf(entry.args);
  return kernel === null ? platform === 'freebsd' : kernel === ourSimKernel;
}

/** Whether `bhyve` (vmstated --bhyve) is our simulator, whose processes carry their kernel's tag. */
function isSimulator(bhyve: string): boolean {
  return /^bhyve-sim(\.js)?$/.test(path.basename(bhyve));
}

/** Whether `bhyve` is a stand-in other than our simulator, off FreeBSD: its VM instances are out of our sight. */
function isHiddenStandIn(bhyve: string): boolean {
  return !isSimulator(bhyve) && process.platform !== 'freebsd';
}

/** Whether `entry` is a bhyve of VM `name` on our kernel: real, simulated, or (`standIn`) that of the stand-in `bhyve`. */
function runsVmHere(entry: ProcessEntry, name: string, bhyve: string, standIn: boolean, ourSimKernel: string): boolean {
  if (isBhyveOf(entry, name)) return onOurKernel(entry, ourSimKernel) || (standIn && simKernelTagOf(entry.args) === null);
  return standIn && runsProgramFor(entry, bhyve, name);
}

/**
 * The bhyves of VM `name` now running that are not `ours`, on our kernel (real, simulated, or
 * that of the stand-in `bhyve`), of a user who can run VMs.
 */
export async function foreignBhyves(name: string, ours: number | null, bhyve: string, env: NodeJS.ProcessEnv = process.env): Promise<ProcessEntry[]> {
  const ourSimKernel = simKernelTag(simStateDir(env));
  const anyUser = vmmOpenToGroup();
  const ourUid = process.getuid?.();
  const standIn = isHiddenStandIn(bhyve);
  return (await readProcessTable()).filter((entry) => entry.pid !== ours && (anyUser || entry.uid === ourUid) && runsVmHere(entry, name, bhyve, standIn, ourSimKernel));
}

/** Whether users other than root may run VMs here: /dev/vmmctl exists and its group may use it. */
function vmmOpenToGroup(): boolean {
  try {
    return (fs.statSync('/dev/vmmctl').mode & 0o060) !== 0;
  } catch {
    return false;
  }
}

/**
 * Whether VM `name` may have a kernel instance: /dev/vmm/NAME, or the simulator's record of our
 * state dir; a stand-in's instances, off FreeBSD, are out of sight.
 */
function instanceMayExist(name: string, bhyve: string, env: NodeJS.ProcessEnv): boolean {
  return fs.existsSync(`/dev/vmm/${name}`) || fs.existsSync(vmmRecordPath(simStateDir(env), name)) || isHiddenStandIn(bhyve);
}

/**
 * Throws (failure mode, the instance kept) when a bhyve we did not start runs VM `name`, or when
 * that cannot be told. `bhyve` is the program vmstated launches (vmstated --bhyve).
 */
export async function refuseForeignBhyve(name: string, ours: number | null, bhyve: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!instanceMayExist(name, bhyve, env)) return;
  let foreign: ProcessEntry[];
  try {
    foreign = await foreignBhyves(name, ours, bhyve, env);
  } catch (error) {
    throw new SequenceFailure(`cannot tell whether another bhyve runs VM ${name} (ps failed: ${(error as Error).message}); ` +
      `/dev/vmm/${name} is not destroyed and bhyve is not launched`, { keepInstance: true });
  }
  if (foreign.length === 0) return;
  const who = foreign.map((entry) => `pid ${entry.pid} (${entry.args})`).join(', ');
  throw new SequenceFailure(`a bhyve that vmstated did not start runs VM ${name}: ${who}; vmstated does not destroy ` +
    `/dev/vmm/${name} while it runs: stop that bhyve (or rename this VM), then failreset ${name}`, { keepInstance: true });
}
