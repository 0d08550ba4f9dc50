/**
 * Colour for VM states on a terminal: running green, failed red, the states in between yellow.
 * Only when stdout is a terminal; NO_COLOR (https://no-color.org, any non-empty value) turns it off
 * and FORCE_COLOR (non-empty, not "0" or "false", as Node reads it) turns it on, even in a pipe;
 * FORCE_COLOR wins, being the narrower wish. Never in --json: those outputs do not call this.
 */
import type { VmState } from '../protocol/types.js';

const GREEN = '\x1b[32m';
const RED = '\x1b[31m';
const YELLOW = '\x1b[33m';
const DEFAULT_FOREGROUND = '\x1b[39m';

/** Whether the text written to `stream` gets colours. */
export function colourWanted(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true;
}

function stateColour(state: string): string | null {
  if (state === 'running') return GREEN;
  if (state === 'failed') return RED;
  if (state === 'stopped') return null;
  return YELLOW; // starting, stopping, restarting and the hook states between
}

/** `text` (a state, or a cell that starts with one) in the colour of `state`, when colours are on. */
export function colourState(state: VmState | string, text: string = state, enabled = colourWanted()): string {
  const colour = enabled ? stateColour(state) : null;
  return colour === null ? text : `${colour}${text}${DEFAULT_FOREGROUND}`;
}
