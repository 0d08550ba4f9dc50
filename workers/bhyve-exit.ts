/**
 * What a bhyve exit status means (DESIGN.md section 5) and what the lifecycle does about it.
 *
 * usr.sbin/bhyve/bhyverun.c: vmexit_suspend() exits 0 (reset), 1 (power-off), 2 (halt), 3 (triple
 * fault); errors exit 4, usage() exits 1, sysexits codes (EX_USAGE, EX_OSERR) come from errx().
 * Exit 1 is also how a vCPU thread ends when the kernel's vm_run() fails: vm_loop() prints
 * "vm_run error %d, errno %d" on stderr and returns, and fbsdrun_start_thread() calls exit(1).
 * That exit is a crash, not a power-off: it is told apart by the line on stderr (explainExit).
 */
import type { BhyveExit } from '../src/protocol/types.js';
import { EX_OSERR, EX_USAGE } from '../src/shared/sysexits.js';

const EXIT_MEANINGS: Record<number, string> = {
  0: 'reboot',
  1: 'powered off',
  2: 'halted',
  3: 'triple fault',
  4: 'error',
  [EX_USAGE]: 'usage error',
  [EX_OSERR]: 'operating system error',
};

/** The meaning of an exit 1 that followed bhyve's `vm_run error` line. */
export const VM_RUN_ERROR = 'vm_run error (exit 1)';

export function describeExit(code: number | null, signal: string | null): BhyveExit {
  if (signal !== null) {
    const meaning = signal === 'SIGABRT' ? 'emulation aborted (killed by SIGABRT)' : `killed by ${signal}`;
    return { code: null, signal, meaning };
  }
  if (code === null) return { code: null, signal: null, meaning: 'exit status unknown' };
  return { code, signal: null, meaning: EXIT_MEANINGS[code] ?? `unexpected exit code ${code}` };
}

/** The exit as bhyve's last stderr lines of the same run explain it: exit 1 after `vm_run error` is VM_RUN_ERROR. */
export function explainExit(exit: BhyveExit, stderrTail: readonly string[]): BhyveExit {
  if (exit.code !== 1 || !stderrTail.some((line) => line.includes('vm_run error'))) return exit;
  return { ...exit, meaning: VM_RUN_ERROR };
}

/** An adopted bhyve is not our child: its exit status cannot be known. */
export const UNKNOWN_EXIT: BhyveExit = { code: null, signal: null, meaning: 'exit status unknown (adopted bhyve, not our child)' };

/** reboot: exit 0; poweroff: exit 1 or 2 (the guest is done); crash: everything else, and exit 1 after vm_run error. */
export type ExitKind = 'reboot' | 'poweroff' | 'crash';

export function classifyExit(exit: BhyveExit): ExitKind {
  if (exit.code === 0) return 'reboot';
  if (exit.code === 1 && exit.meaning === VM_RUN_ERROR) return 'crash';
  if (exit.code === 1 || exit.code === 2) return 'poweroff';
  return 'crash';
}
