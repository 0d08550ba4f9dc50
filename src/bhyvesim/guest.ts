/**
 * The simulated guest's scripted behaviour, from configuration variables that real bhyve keeps
 * but never reads (`sim.*`), and the actions `bhyvectl --sim-guest` can trigger at run time.
 */
import type { BhyveConfig } from './configfile.js';
import { SimExit } from './failure.js';
import type { SuspendHow } from './record.js';

export const GUEST_ACTIONS = ['run', 'reboot', 'poweroff', 'halt', 'triplefault', 'error', 'abort', 'hang'] as const;
export type GuestAction = (typeof GUEST_ACTIONS)[number];

/** What `bhyvectl --sim-guest=ACTION` accepts. */
export const RUNTIME_ACTIONS = [
  'reboot', 'poweroff', 'halt', 'triplefault', 'error', 'abort', 'ignore-acpi', 'hang', 'honour-acpi',
] as const;
export type RuntimeAction = (typeof RUNTIME_ACTIONS)[number];

export interface GuestScript {
  /** What the guest does `afterMs` after boot. run: keep running; hang: run and ignore ACPI. */
  action: GuestAction;
  afterMs: number;
  /** Do the action only on the first N boots of this VM name, then just run (null: always). */
  times: number | null;
  /** Whether the guest shuts down when the ACPI power button (SIGTERM) is pressed. */
  acpi: 'honour' | 'ignore';
  /** How long the guest takes to shut down after the power button. */
  acpiDelayMs: number;
  /** Until then (firmware and loader) SIGTERM kills bhyve at once, as real bhyve does. */
  acpiReadyMs: number;
  /** Console lines printed as fast as possible at boot. */
  flood: number;
  /** Console bytes printed at boot as fast as the reader takes them, without a newline. */
  floodBytes: number;
  /** Extra console lines at boot (`\n` in the value separates lines). */
  consoleLines: string[];
  /** Extra stderr lines at boot. */
  stderrLines: string[];
}

/** How a guest action ends bhyve. */
export type GuestEnd = { kind: 'suspend'; how: SuspendHow } | { kind: 'error' } | { kind: 'abort' };

export function guestEnd(action: GuestAction | RuntimeAction): GuestEnd | null {
  switch (action) {
    case 'reboot': return { kind: 'suspend', how: 'reset' };
    case 'poweroff': return { kind: 'suspend', how: 'poweroff' };
    case 'halt': return { kind: 'suspend', how: 'halt' };
    case 'triplefault': return { kind: 'suspend', how: 'triplefault' };
    case 'error': return { kind: 'error' };
    case 'abort': return { kind: 'abort' };
    default: return null;
  }
}

/** bhyve's exit status for each suspend reason (vmexit_suspend()). */
export const SUSPEND_EXIT: Record<SuspendHow, number> = { reset: 0, poweroff: 1, halt: 2, triplefault: 3 };

/** `250ms`, `2s`, `1.5s`, `1min`, `1h`; a plain number is seconds. Null when malformed. */
export function parseDuration(text: string): number | null {
  const match = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|min|h)?$/.exec(text);
  if (match === null) return null;
  const scale: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };
  return Math.round(Number(match[1]) * scale[match[2] ?? 's']);
}

function invalid(key: string, value: string, expected: string): SimExit {
  return new SimExit(4, `bhyve-sim: invalid ${key} '${value}': expected ${expected}`);
}

function durationOf(config: BhyveConfig, key: string, fallback: number): number {
  const value = config.get(key);
  if (value === undefined) return fallback;
  const ms = parseDuration(value);
  if (ms === null) throw invalid(key, value, 'a duration such as 200ms, 2s or 1min');
  return ms;
}

function countOf(config: BhyveConfig, key: string): number | null {
  const value = config.get(key);
  if (value === undefined) return null;
  if (!/^[0-9]+$/.test(value)) throw invalid(key, value, 'a whole number');
  return Number(value);
}

function linesOf(config: BhyveConfig, key: string): string[] {
  const value = config.get(key);
  return value === undefined ? [] : value.split('\\n');
}

/** Reads the `sim.*` variables; a malformed one ends bhyve with 4, like any bad config value. */
export function guestScript(config: BhyveConfig): GuestScript {
  const guest = config.get('sim.guest') ?? 'run';
  const [actionText, atText] = guest.split('@', 2) as [string, string | undefined];
  if (!(GUEST_ACTIONS as readonly string[]).includes(actionText)) {
    throw invalid('sim.guest', guest, `ACTION[@DURATION] with ACTION one of ${GUEST_ACTIONS.join(', ')}`);
  }
  let afterMs = durationOf(config, 'sim.after', 0);
  if (atText !== undefined) {
    const at = parseDuration(atText);
    if (at === null) throw invalid('sim.guest', guest, 'ACTION@DURATION, e.g. reboot@2s');
    afterMs = at;
  }
  const acpi = config.get('sim.acpi') ?? 'honour';
  if (acpi !== 'honour' && acpi !== 'honor' && acpi !== 'ignore') throw invalid('sim.acpi', acpi, 'honour or ignore');
  return {
    action: actionText as GuestAction,
    afterMs,
    times: countOf(config, 'sim.times'),
    acpi: acpi === 'ignore' || actionText === 'hang' ? 'ignore' : 'honour',
    acpiDelayMs: durationOf(config, 'sim.acpi_delay', 200),
    acpiReadyMs: durationOf(config, 'sim.acpi_ready', 0),
    flood: countOf(config, 'sim.flood') ?? 0,
    floodBytes: countOf(config, 'sim.flood_bytes') ?? 0,
    consoleLines: linesOf(config, 'sim.console'),
    stderrLines: linesOf(config, 'sim.stderr'),
  };
}
