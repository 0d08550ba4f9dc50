/**
 * The simulated bhyve's process title. Real bhyve calls setproctitle("%s", vmname) (bhyverun.c),
 * so ps shows `bhyve: web (bhyve)`; the simulator shows `bhyve: web (bhyve-sim TAG)`, where TAG
 * names its state dir: each state dir is a kernel of its own (its own /dev/vmm), so a simulated
 * bhyve of another state dir (another test, another demo) never runs "our" VM web.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { bhyveTitle } from '../shared/process-table.js';

/** A short tag for a state dir (the title must fit in the original argv's room on Linux). */
export function simKernelTag(stateDir: string): string {
  return createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 12);
}

export function simProcessTitle(name: string, stateDir: string): string {
  return `${bhyveTitle(name)} (bhyve-sim ${simKernelTag(stateDir)})`;
}

/** The state dir tag in a simulated bhyve's title, or null for anything else (a real bhyve). */
export function simKernelTagOf(args: string): string | null {
  return /^bhyve: \S+ \(bhyve-sim ([0-9a-f]{12})\)$/.exec(args)?.[1] ?? null;
}
