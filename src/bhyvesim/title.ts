/**
 * The simulated bhyve's process title. Real bhyve calls setproctitle("%s", vmname) (bhyverun.c),
 * so ps shows `bhyve: web (bhyve)`; the simulator shows `bhyve: web (bhyve-sim TAG)`, where TAG
 * names its state dir: each state dir is a kernel of its own (its own /dev/vmm), so a simulated
 * bhyve of another state dir (another test, another demo) never runs "our" VM web.
 */
import path from 'node:path';
import { bhyveTitle } from '../shared/process-table.js';

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = (1n << 64n) - 1n;

/**
 * A short tag for a state dir (the title must fit in the original argv's room on Linux): 48 bits
 * of its path's FNV-1a hash, mixed. Not node:crypto's sha256: every VM worker checks titles with this,
 * and loading crypto cost each 0.7 MB.
 */
export function simKernelTag(stateDir: string): string {
  let hash = FNV_OFFSET;
  for (const byte of Buffer.from(path.resolve(stateDir))) hash = ((hash ^ BigInt(byte)) * FNV_PRIME) & MASK_64;
  // splitmix64's finalizer: paths that differ in their last character differ in every digit kept.
  hash = ((hash ^ (hash >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK_64;
  hash = ((hash ^ (hash >> 27n)) * 0x94d049bb133111ebn) & MASK_64;
  hash ^= hash >> 31n;
  return hash.toString(16).padStart(16, '0').slice(0, 12);
}

export function simProcessTitle(name: string, stateDir: string): string {
  return `${bhyveTitle(name)} (bhyve-sim ${simKernelTag(stateDir)})`;
}

/** The state dir tag in a simulated bhyve's title, or null for anything else (a real bhyve). */
export function simKernelTagOf(args: string): string | null {
  return /^bhyve: \S+ \(bhyve-sim ([0-9a-f]{12})\)$/.exec(args)?.[1] ?? null;
}
