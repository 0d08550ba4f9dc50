/** The one sentence `vmstatedctl reload` prints: what the reload changed and what it refused. */

/** The reload reply's counts (src/daemon/reload.ts ReloadSummary); older daemons may lack some. */
export interface ReloadCounts {
  added?: string[];
  removed?: string[];
  changed?: string[];
  kept?: string[];
  rejected?: string[];
  errors?: number;
  warnings?: number;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** E.g. `reloaded: 1 added (mail), 1 changed (db); 1 error: web keeps its last good config`. */
export function reloadSentence(summary: ReloadCounts): string {
  const changes = (['added', 'changed', 'removed'] as const)
    .map((kind) => [summary[kind] ?? [], kind] as const)
    .filter(([vms]) => vms.length > 0)
    .map(([vms, kind]) => `${vms.length} ${kind} (${vms.join(', ')})`);
  const parts = [changes.length > 0 ? changes.join(', ') : 'no change'];
  const errors = summary.errors ?? 0;
  if (errors > 0) {
    const fates = [
      ...(summary.kept ?? []).map((vm) => `${vm} keeps its last good config`),
      ...(summary.rejected ?? []).map((vm) => `${vm} was not loaded`),
    ];
    parts.push(plural(errors, 'error') + (fates.length > 0 ? `: ${fates.join(', ')}` : ''));
  }
  const warnings = summary.warnings ?? 0;
  if (warnings > 0) parts.push(plural(warnings, 'warning'));
  return `reloaded: ${parts.join('; ')}`;
}
