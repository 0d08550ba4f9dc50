/**
 * The fixed label values of vmstated's metrics (a contract: vmstated(8), METRICS). Every value a
 * label can take is listed here, so a series never appears under a name no alert rule expects.
 */
import type { VmConfig } from '../config/types.js';
import type { BhyveExit, TransitionReason } from '../protocol/types.js';
import { classifyExit } from '../../workers/bhyve-exit.js';

/** `meaning` of vmstated_vm_exits_total. */
export const EXIT_MEANINGS = ['reboot', 'poweroff', 'halt', 'triple-fault', 'error', 'signal', 'unknown'] as const;
export type ExitMeaning = (typeof EXIT_MEANINGS)[number];

/**
 * How a bhyve exit is counted. The exit statuses are bhyve's (usr.sbin/bhyve/bhyve.8, EXIT STATUS:
 * 0 rebooted, 1 powered off, 2 halted, 3 triple fault, 4 error); an exit 1 the lifecycle does not
 * take for a power-off (bhyve's `vm_run error` is a crash) and any other status count as `error`;
 * a signal is `signal`; an exit whose status is not known (an adopted bhyve) is `unknown`.
 */
export function exitMeaning(exit: BhyveExit): ExitMeaning {
  if (exit.signal !== null) return 'signal';
  switch (exit.code) {
    case null:
      return 'unknown';
    case 0:
      return 'reboot';
    case 1:
      return classifyExit(exit) === 'poweroff' ? 'poweroff' : 'error';
    case 2:
      return 'halt';
    case 3:
      return 'triple-fault';
    default:
      return 'error';
  }
}

/** `reason` of vmstated_vm_restarts_total: automatic (reboot, crash) and asked for (restart). */
export const RESTART_REASONS = ['reboot', 'crash', 'restart'] as const satisfies readonly TransitionReason[];
export type RestartReason = (typeof RESTART_REASONS)[number];

export function isRestartReason(reason: TransitionReason): reason is RestartReason {
  return (RESTART_REASONS as readonly string[]).includes(reason);
}

/** `cmd` of vmstated_requests_total for a request that was not valid (its command cannot be trusted). */
export const INVALID_REQUEST_CMD = 'invalid';

/** The vCPUs the VM's own config asks for (cpus, or sockets × cores × threads), if it says. */
export function configuredCpus(config: VmConfig): number | undefined {
  if (config.cpus !== undefined) return config.cpus;
  if (config.sockets === undefined && config.cores === undefined && config.threads === undefined) return undefined;
  return (config.sockets ?? 1) * (config.cores ?? 1) * (config.threads ?? 1);
}
