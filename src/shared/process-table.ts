/**
 * The system's process table as ps(1) shows it (FreeBSD's ps and Linux's procps agree on these
 * columns): who a pid is, when it started, and which processes are a VM's bhyve.
 *
 * bhyve names itself after its VM once its devices are set up: usr.sbin/bhyve/bhyverun.c calls
 * `setproctitle("%s", vmname)`, so FreeBSD's ps shows `bhyve: web (bhyve)` (setproctitle(3) puts
 * the program name first; ps adds the command name in parentheses when argv[0] differs from it).
 * Before that, its arguments are those it was started with: `bhyve ... web`. The simulator sets
 * the same title (src/bhyvesim/bhyve.ts).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';

export interface ProcessEntry {
  pid: number;
  ppid: number;
  /** Its real user id. */
  uid: number;
  /** When it started, as ps prints `lstart` in the C locale (e.g. `Wed Dec  2 06:11:20 2026`). */
  startedAt: string;
  /** The command line, or the title the process gave itself. */
  args: string;
}

/** The process title bhyve gives itself for VM `name`, before ps's ` (bhyve)` suffix. */
export function bhyveTitle(name: string): string {
  return `bhyve: ${name}`;
}

/**
 * True when `entry` is a bhyve running VM `name`: by its title, or (early in its start) its
 * arguments. `launched`, the command line vmstated started it with, also identifies it: a bhyve
 * stand-in that never sets a title shows it as it is, or after its interpreter when it is a
 * script (`/bin/sh /usr/local/bin/fake-bhyve -k web.generated web`).
 */
export function isBhyveOf(entry: ProcessEntry, name: string, launched?: readonly string[]): boolean {
  const title = bhyveTitle(name);
  if (entry.args === title || entry.args.startsWith(`${title} (`)) return true;
  if (launched !== undefined && launched.length > 0 && runsCommand(entry, launched)) return true;
  const words = entry.args.split(/\s+/);
  return words.length > 1 && path.basename(words[0]!) === 'bhyve' && words[words.length - 1] === name;
}

/** Whether `word`, a word of a command line, names `program`: a path, or a name looked up in PATH. */
function namesProgram(word: string, program: string): boolean {
  return word === program || (!program.includes('/') && path.basename(word) === program);
}

/** Whether `entry` runs `command` as launched, itself or as the script of an interpreter. */
function runsCommand(entry: ProcessEntry, [program, ...args]: readonly string[]): boolean {
  const tail = args.join(' ');
  if (tail !== '' && !entry.args.endsWith(` ${tail}`)) return false;
  const head = tail === '' ? entry.args : entry.args.slice(0, -tail.length - 1);
  // A script shows after its interpreter; one found in PATH, by its path (namesProgram).
  return head.endsWith(` ${program}`) || namesProgram(head, program!);
}

/** Whether `entry` runs `program` (itself, or as an interpreter's script) with `name` last, whatever else. */
export function runsProgramFor(entry: ProcessEntry, program: string, name: string): boolean {
  const words = entry.args.split(/\s+/);
  return words.length > 2 && words[words.length - 1] === name && words.slice(0, 2).some((word) => namesProgram(word, program));
}

/** The time a `startedAt` (ps's lstart, local time, to the second) names, or null if it does not parse. */
export function startedAtTime(startedAt: string): Date | null {
  const time = new Date(startedAt);
  return Number.isNaN(time.getTime()) ? null : time;
}

/** `ps -o lstart` is five words: weekday, month, day, time, year. */
const LSTART_WORDS = 5;

/** Parses `ps -o pid= -o ppid= -o uid= -o lstart= -o args=` output; lines that do not parse are skipped. */
export function parseProcessTable(output: string): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const line of output.split('\n')) {
    const match = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+(?:\s+\S+){4})\s(.*)$/.exec(line);
    if (match === null) continue;
    const [, pid, ppid, uid, lstart, args] = match as unknown as [string, string, string, string, string, string];
    const startedAt = lstart.split(/\s+/);
    if (startedAt.length !== LSTART_WORDS) continue;
    entries.push({ pid: Number(pid), ppid: Number(ppid), uid: Number(uid), startedAt: lstart.replace(/\s+/g, ' '), args: args.trim() });
  }
  return entries;
}

/** Columns asked of ps; `args` last, as it may hold spaces. */
const COLUMNS = ['-o', 'pid=', '-o', 'ppid=', '-o', 'uid=', '-o', 'lstart=', '-o', 'args='];

/** A ps that has not answered by then is killed: re-attach and a worker's take-over must not hang on it. */
const PS_TIMEOUT_MS = 10_000;

/** Runs ps in the C locale (stable lstart) and resolves with its output, also when it exits 1 (no such pid). */
function runPs(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ps', args, { env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 64 * 1024 * 1024, timeout: PS_TIMEOUT_MS }, (error, stdout) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve(stdout);
    });
  });
}

/** Every process of the system. */
export async function readProcessTable(): Promise<ProcessEntry[]> {
  return parseProcessTable(await runPs(['-ax', '-ww', ...COLUMNS]));
}

/** One process, or null when there is none with that pid. */
export async function readProcess(pid: number): Promise<ProcessEntry | null> {
  return (await readProcesses([pid])).get(pid) ?? null;
}

/** Those of `pids` that are processes now, by pid (one ps for them all). */
export async function readProcesses(pids: readonly number[]): Promise<Map<number, ProcessEntry>> {
  const wanted = pids.filter((pid) => Number.isSafeInteger(pid) && pid > 0);
  if (wanted.length === 0) return new Map();
  const entries = parseProcessTable(await runPs(['-ww', ...COLUMNS, ...wanted.flatMap((pid) => ['-p', String(pid)])]));
  return new Map(entries.filter((entry) => wanted.includes(entry.pid)).map((entry) => [entry.pid, entry]));
}

/** The bhyve processes of VM `name` that exist now. */
export async function bhyveProcessesOf(name: string): Promise<ProcessEntry[]> {
  return (await readProcessTable()).filter((entry) => isBhyveOf(entry, name));
}
