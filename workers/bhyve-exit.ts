/** What a bhyve exit status means (DESIGN.md section 5) and what the lifecycle does about it. */
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

export function describeExit(code: number | null, signal: string | null): BhyveExit {
  if (signal !== null) {
    const meaning = signal === 'SIGABRT' ? 'emulation aborted (killed by SIGABRT)' : `killed by ${signal}`;
    return { code: null, signal, meaning };
  }
  if (code === null) return { code: null, signal: null, meaning: 'exit status unknown' };
  return { code, signal: null, meaning: EXIT_MEANINGS[code] ?? `unexpected exit code ${code}` };
}

/** An adopted bhyve is not our child: its exit status cannot be known. */
export const UNKNOWN_EXIT: BhyveExit = { code: null, signal: null, meaning: 'exit status unknown (adopted bhyve, not our child)' };

/** reboot: exit 0; poweroff: exit 1 or 2 (the guest is done); crash: everything else. */
export type ExitKind = 'reboot' | 'poweroff' | 'crash';

export function classifyExit(exit: BhyveExit): ExitKind {
  if (exit.code === 0) return 'reboot';
  if (exit.code === 1 || exit.code === 2) return 'poweroff';
  return 'crash';
}
