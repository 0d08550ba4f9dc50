/** `vmstated -n`: every problem of every VM config, and whether any of them is an error. */
import { formatProblem } from './format.js';
import { loadConfigDir } from './load.js';
import type { ConfigProblem, VmConfig } from './types.js';

export interface ConfigCheck {
  problems: ConfigProblem[];
  errorCount: number;
  warningCount: number;
  /** The VMs that would load. */
  vms: VmConfig[];
  /** Every problem formatted, one a line (empty when there is none). */
  text: string;
  /** One line for a person: how many VMs, errors and warnings. */
  summary: string;
}

/** Throws, naming the path, when the directory itself cannot be read. */
export async function checkConfigDir(configdir: string): Promise<ConfigCheck> {
  const { vms, problems, rejected = [] } = await loadConfigDir(configdir);
  const errorCount = problems.filter((p) => p.severity === 'error').length;
  const warningCount = problems.length - errorCount;
  const text = problems.map((p) => `${formatProblem(p)}\n`).join('');
  const summary = `${vms.length} VM${vms.length === 1 ? '' : 's'} ok, ${rejected.length} rejected; ` +
    `${errorCount} error${errorCount === 1 ? '' : 's'}, ${warningCount} warning${warningCount === 1 ? '' : 's'}`;
  return { problems, errorCount, warningCount, vms, text, summary };
}
