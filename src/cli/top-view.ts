/** The rows of `vmstatedctl top`: each VM's bhyve and worker with CPU % and RSS. */
import type { VmState } from '../protocol/types.js';
import { formatBytes, formatPercent, formatTable } from './format.js';
import { cpuPercent, type ProcessSample } from '../shared/usage.js';

/** One entry of the daemon's `top` result. */
export interface TopEntry {
  name: string;
  state: VmState;
  pid: number | null;
  workerPid: number | null;
}

export interface ProcessUsage {
  pid: number;
  /** null until two samples exist. */
  cpuPercent: number | null;
  rssBytes: number | null;
}

export interface TopRow {
  name: string;
  state: VmState;
  bhyve: ProcessUsage | null;
  worker: ProcessUsage | null;
}

export function pidsOf(entries: readonly TopEntry[]): number[] {
  return entries.flatMap((entry) => [entry.pid, entry.workerPid]).filter((pid): pid is number => pid !== null);
}

function usage(
  pid: number | null,
  previous: ReadonlyMap<number, ProcessSample>,
  current: ReadonlyMap<number, ProcessSample>,
): ProcessUsage | null {
  if (pid === null) return null;
  const now = current.get(pid);
  return { pid, cpuPercent: cpuPercent(previous.get(pid), now), rssBytes: now?.rssBytes ?? null };
}

export function buildTopRows(
  entries: readonly TopEntry[],
  previous: ReadonlyMap<number, ProcessSample>,
  current: ReadonlyMap<number, ProcessSample>,
): TopRow[] {
  return entries.map((entry) => ({
    name: entry.name,
    state: entry.state,
    bhyve: usage(entry.pid, previous, current),
    worker: usage(entry.workerPid, previous, current),
  }));
}

function cells(process: ProcessUsage | null): string[] {
  if (process === null) return ['-', '-', '-'];
  return [
    String(process.pid),
    formatPercent(process.cpuPercent),
    process.rssBytes === null ? '-' : formatBytes(process.rssBytes),
  ];
}

export const TOP_HEADERS = ['NAME', 'STATE', 'BHYVE', 'CPU', 'RSS', 'WORKER', 'CPU', 'RSS'] as const;

export function renderTop(rows: readonly TopRow[]): string {
  return formatTable(TOP_HEADERS, rows.map((row) => [row.name, row.state, ...cells(row.bhyve), ...cells(row.worker)])) + '\n';
}
