/** The text form of `vmstatedctl status`: the VM table, then failures and config problems. */
import type { ConfigProblem } from '../config/types.js';
import type { VmStatus } from '../protocol/types.js';
import { colourState } from './colour.js';
import { formatDuration, formatTable } from './format.js';

export const STATUS_HEADERS = ['NAME', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'OWNER', 'DESCRIPTION'] as const;

function uptime(vm: VmStatus, nowMs: number): string {
  if (vm.state !== 'running') return '-';
  const since = Date.parse(vm.since);
  return Number.isNaN(since) ? '-' : formatDuration((nowMs - since) / 1000);
}

function owner(vm: VmStatus): string {
  if (vm.owner && vm.group) return `${vm.owner}:${vm.group}`;
  return vm.owner ?? (vm.group ? `:${vm.group}` : '-');
}

export function statusRow(vm: VmStatus, nowMs: number): string[] {
  return [
    vm.name,
    vm.state,
    vm.pid === null ? '-' : String(vm.pid),
    uptime(vm, nowMs),
    String(vm.restarts),
    owner(vm),
    vm.description ?? '',
  ];
}

export function formatProblem(problem: ConfigProblem): string {
  return `${problem.file}:${problem.line}:${problem.column}: ${problem.severity}: ${problem.message}`;
}

/** Lines that explain a VM's state when the table alone does not: why it failed, pending config. */
function notes(vms: readonly VmStatus[]): string[] {
  const lines: string[] = [];
  for (const vm of vms) {
    if (vm.state === 'failed') {
      const exit = vm.lastExit ? ` (bhyve last exit: ${vm.lastExit.meaning})` : '';
      lines.push(`${vm.name}: failed: ${vm.failureReason ?? 'no reason recorded'}${exit}`);
    }
    if (vm.configPending) lines.push(`${vm.name}: its config changed; the change applies at the next start (vmstatedctl restart ${vm.name} applies it now)`);
    // Workers add logProblem (workers/api.ts): why the VM log cannot be written right now.
    const logProblem = (vm as VmStatus & { logProblem?: string | null }).logProblem;
    if (logProblem) lines.push(`${vm.name}: its log cannot be written: ${logProblem}`);
    // The registry adds workerProblem (src/daemon/worker-liveness.ts) while the worker does not answer.
    const workerProblem = (vm as VmStatus & { workerProblem?: string }).workerProblem;
    if (workerProblem) lines.push(`${vm.name}: ${workerProblem}; commands on it fail until it does`);
  }
  return lines;
}

/**
 * The table, then notes and problems. `named`: the VM the user asked about (the problems are its
 * own); `colour`: states in colour (a terminal, see colour.ts).
 */
export function renderStatus(
  vms: readonly VmStatus[],
  problems: readonly ConfigProblem[],
  { nowMs = Date.now(), colour = false, named }: { nowMs?: number; colour?: boolean; named?: string } = {},
): string {
  const stateColumn = STATUS_HEADERS.indexOf('STATE');
  const decorate = (cell: string, column: number): string => (colour && column === stateColumn ? colourState(cell, cell, true) : cell);
  const sections = [formatTable(STATUS_HEADERS, vms.map((vm) => statusRow(vm, nowMs)), decorate)];
  if (vms.length === 0) sections.push('No VMs: none is configured, or none that you may see.');
  const vmNotes = notes(vms);
  if (named !== undefined && problems.some((problem) => problem.severity === 'error')) {
    vmNotes.push(`${named}: its config has errors; vmstated keeps its last good config until they are fixed and it reloads`);
  }
  if (vmNotes.length > 0) sections.push(vmNotes.join('\n'));
  if (problems.length > 0) {
    const heading = named === undefined ? 'Config problems:' : `Config problems of ${named}:`;
    sections.push([heading, ...problems.map((problem) => `  ${formatProblem(problem)}`)].join('\n'));
  }
  return sections.join('\n\n') + '\n';
}
