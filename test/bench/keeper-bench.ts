/**
 * What bhyve's keeper (workers/keeper.ts, one sh per running VM) costs: its PSS, found as the
 * parent of each VM's bhyve. Target: under 1 MB per VM.
 */
import { readProcesses } from '../../src/shared/process-table.js';
import { pssKiB } from './measure.js';

/** Mean PSS in KiB of the keepers of these bhyves, and how many were measured (null: no smaps_rollup). */
export async function keeperPssKiB(bhyvePids: readonly number[]): Promise<{ meanKiB: number | null; keepers: number }> {
  const bhyves = await readProcesses(bhyvePids);
  const sizes = [...bhyves.values()].map((bhyve) => pssKiB(bhyve.ppid));
  if (sizes.length === 0 || sizes.some((kib) => kib === null)) return { meanKiB: null, keepers: sizes.length };
  return { meanKiB: (sizes as number[]).reduce((a, b) => a + b, 0) / sizes.length, keepers: sizes.length };
}
