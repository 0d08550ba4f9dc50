/** The rows of `vmstatedctl top`: each VM's bhyve and worker with CPU % and RSS. */
import type { VmState } from '../protocol/types.js';
import { colourState } from './colour.js';
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

/** The table; `colour`: states in colour (colour.ts). */
export function renderTop(rows: readonly TopRow[], colour = false): string {
  const decorate = (cell: string, column: number): string => (colour && column === 1 ? colourState(cell, cell, true) : cell);
  return formatTable(TOP_HEADERS, rows.map((row) => [row.name, row.state, ...cells(row.bhyve), ...cells(row.worker)]), decorate) + '\n';
}

/** The orders top offers (--sort, and the keys c, m, n in the view). */
export const TOP_SORTS = ['cpu', 'mem', 'name'] as const;
export type TopSort = (typeof TOP_SORTS)[number];

/** bhyve's and the worker's figure added up; null when neither was measured (a stopped VM). */
function total(row: TopRow, figure: (usage: ProcessUsage) => number | null): number | null {
  const figures = [row.bhyve, row.worker].map((usage) => (usage === null ? null : figure(usage))).filter((value): value is number => value !== null);
  return figures.length === 0 ? null : figures.reduce((sum, value) => sum + value, 0);
}

/** cpu and mem: the busiest first, unmeasured VMs last; name: A to Z. Ties go by name. */
export function sortTopRows(rows: readonly TopRow[], by: TopSort): TopRow[] {
  const byName = (a: TopRow, b: TopRow): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  if (by === 'name') return [...rows].sort(byName);
  const figure = by === 'cpu' ? (usage: ProcessUsage) => usage.cpuPercent : (usage: ProcessUsage) => usage.rssBytes;
  return [...rows].sort((a, b) => (total(b, figure) ?? -1) - (total(a, figure) ?? -1) || byName(a, b));
}
