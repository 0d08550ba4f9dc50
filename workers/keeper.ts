/**
 * bhyve's keeper: a few lines of sh that are bhyve's parent for its whole life (vm-bhyve keeps one
 * sh per VM the same way). The worker starts it detached, in its own session; it outlives the
 * worker, waits for bhyve, writes bhyve's exit status into the run directory and exits with it. So
 * whoever supervises the VM next (a worker that replaced a dead one) learns how bhyve really
 * ended, and bhyve's pid cannot be reused before the keeper has reaped it.
 *
 * Command line: /bin/sh -c KEEPER_SCRIPT vmstated-keeper <fifo> <exit file> <bhyve argv...>
 * with fd 0 a pipe from the worker, fd 1 and 2 bhyve's output files (workers/bhyve-output.ts),
 * fd 3 a pipe to the worker. Protocol:
 *   1. the keeper forks the shell that will become bhyve, at once (the fork is off the critical
 *      path of a relaunch); that shell writes its pid (bhyve's pid to be: exec keeps it) on fd 3;
 *   2. the worker writes `go\ngo\n` on fd 0 in one write: the first line makes that shell exec
 *      bhyve, the second tells the keeper, once bhyve is gone, that bhyve did run. End of input
 *      instead (the worker changed its mind, or died) ends both without starting anything;
 *   3. when bhyve exits, the keeper writes `<keeper pid> <status>` to the exit file (a temporary
 *      file renamed over it: a reader never sees half of it; the pid: a file left by an earlier
 *      run is never taken for this one) and exits with bhyve's status.
 * The FIFO is the keeper's lifeline: the keeper holds it open read-write, and so does bhyve (as its
 * standard input), so a worker that did not start the keeper (it cannot wait for it) reads end of
 * file on it exactly when both are gone.
 */
import { constants } from 'node:os';
import fs from 'node:fs';
import type { BhyveExit } from '../src/protocol/types.js';
import { describeExit } from './bhyve-exit.js';

/** The keeper shell's $0, which ps shows: re-attach checks a recorded keeper by it. */
export const KEEPER_NAME = 'vmstated-keeper';

/** What the worker writes to start bhyve: one line for the shell that becomes bhyve, one for the keeper. */
export const GO = 'go\ngo\n';

/**
 * One line, so that ps shows it as the keeper was started. Each step:
 * - SIGPIPE ignored, and bhyve inherits that (an ignored signal stays ignored across exec): bhyve
 *   blocks SIGPIPE only in its VNC thread (usr.sbin/bhyve/rfb.c, rfb_thr); a write from another
 *   thread to a peer that hung up, such as a TCP console client (uart_backend.c: "write returning
 *   -1 means disconnected"), would otherwise kill the guest instead of failing with EPIPE.
 * - TERM, INT and HUP are trapped with a command, not ignored: a stray signal (a kill of the
 *   process group, a shutdown script) does not take the keeper away from bhyve, while bhyve
 *   starts with their default actions (a trapped signal is reset in a child; an ignored one would
 *   survive exec, and SIGTERM is bhyve's ACPI power button). bhyve runs as a foreground command:
 *   an asynchronous one (`&`) gets SIGINT and SIGQUIT ignored (POSIX 2.11), which dash does not let
 *   a script undo, and the shell waits for a foreground command through any trapped signal, so
 *   the status it reports is bhyve's.
 * - The FIFO is created when missing (mode 0600) and held read-write on fd 4, for the keeper's life.
 * - The keeper's own standard error becomes /dev/null (bhyve's stays on fd 5 for bhyve and the
 *   keeper's own errors): the shell reports a foreground command killed by a signal there
 *   ("Terminated"), which is the keeper's comment, not bhyve's output; the worker logs the exit.
 *   The shell that becomes bhyve takes fd 5 back as its fd 2 itself: a redirection on the command
 *   line would hold for the keeper too while it waits, and the report would land in bhyve's file.
 * - The shell that becomes bhyve says its pid, lets go of fd 3, waits for go, then execs bhyve with
 *   the FIFO as its standard input (read-write: a pipe it never sees the end of; kqueue rejects
 *   /dev/null, which bhyve's stdio console adds to it (usr.sbin/bhyve/mevent.c), and end of file
 *   would make that console spin: uart_backend.c, uart_rxfifo_drain stops only sockets that hang
 *   up), without fd 4.
 * - The second go line is read in a loop: a trapped signal may interrupt `read` (status > 128).
 */
export const KEEPER_SCRIPT = [
  "trap '' PIPE",
  'trap : TERM INT HUP',
  'fifo=$1 exitfile=$2',
  'shift 2',
  '[ -p "$fifo" ] || command -p mkfifo -m 600 "$fifo" || exit 71',
  'exec 4<>"$fifo" 5>&2 2>/dev/null',
  `/bin/sh -c 'exec 2>&5 5>&-; echo "$$" >&3; exec 3>&-; IFS= read -r word && [ "$word" = go ] || exit 0; exec "$@" 0<&4 4<&-' bhyve "$@"`,
  'status=$?',
  'until IFS= read -r word; [ $? -le 128 ]; do :; done',
  '[ "$word" = go ] || exit 0',
  '{ echo "$$ $status" >"$exitfile.tmp" && command -p mv -f "$exitfile.tmp" "$exitfile"; } 2>&5',
  'exit "$status"',
].join('; ');

/** The keeper's argv after `/bin/sh`. */
export function keeperArgs(fifo: string, exitFile: string, bhyveArgv: readonly string[]): string[] {
  return ['-c', KEEPER_SCRIPT, KEEPER_NAME, fifo, exitFile, ...bhyveArgv];
}

/** Whether a command line (as ps shows it) is a keeper of this FIFO, i.e. of this VM. */
export function isKeeperCommand(args: string, fifo: string): boolean {
  return args.startsWith('/bin/sh -c ') && args.includes(` ${KEEPER_NAME} ${fifo} `);
}

/**
 * bhyve's exit status as the keeper recorded it for the keeper `keeperPid`, or null when the exit
 * file is missing, unreadable or from another keeper.
 */
export function readExitRecord(file: string, keeperPid: number): number | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const match = /^(\d{1,10}) (\d{1,3})\n$/.exec(text);
  if (match === null || Number(match[1]) !== keeperPid) return null;
  const status = Number(match[2]);
  return status <= 255 ? status : null;
}

/**
 * What a status the shell reported means, as a direct child's exit would say it: the shell reports
 * death by signal N as 128+N, and bhyve itself never exits above 128 (usr.sbin/bhyve/bhyverun.c:
 * 0-4 and the sysexits 64-78).
 */
export function exitFromStatus(status: number): BhyveExit {
  if (status <= 128) return describeExit(status, null);
  const number = status - 128;
  const name = Object.entries(constants.signals).find(([, value]) => value === number)?.[0];
  return describeExit(null, name ?? `signal ${number}`);
}
