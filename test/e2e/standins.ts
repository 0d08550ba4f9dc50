/**
 * Minimal POSIX-sh stand-ins for bhyve and bhyvectl, written into a test's temp dir, independent of
 * the project's simulator: they behave as DESIGN.md section 5 says and record every call, so a test
 * sees what the daemon really did, in order, per VM (`<dir>/calls/<vm>.log`, shared with the
 * recording hooks).
 *
 * bhyve (`bhyve -k FILE NAME`): records its argv and pid, keeps a copy of FILE, creates the VM
 * instance record `<dir>/vmm/NAME`, prints a console line on stdout and a diagnostic on stderr,
 * then follows `<dir>/ctl/NAME.mode` (read at launch):
 *   (absent)        runs; SIGTERM = ACPI power button: records it, exits 1 after 0.1 s
 *   ignore-term     runs; records SIGTERM and carries on
 *   deaf            as ignore-term, and ignores the commands below too (only SIGKILL ends it)
 *   exit CODE       exits CODE at once (a guest that reboots at once with `exit 0`)
 * and the one-shot command `<dir>/ctl/NAME.now` (`exit CODE` or `signal SIG`), polled every 50 ms.
 * bhyvectl `--vm=NAME --destroy | --force-poweroff | --force-reset`: records the call; "could not be
 * opened" (exit 1) when there is no instance record, as the real one does; force-poweroff and
 * force-reset make bhyve exit 1 / 0.
 */
import fs from 'node:fs';
import path from 'node:path';
import { VM_STATES, type VmState } from '../../src/protocol/types.js';

/** What the stand-in bhyve prints, on purpose with runs of spaces, a tab, quotes and a `$`. */
export const CONSOLE_TEXT = 'console:  guest booting\twith "quotes" and $HOME kept';
export const DIAGNOSTIC_TEXT = 'bhyve: stand-in diagnostic on stderr (vcpu 0 ok)';

function bhyveScript(dir: string): string {
  return `#!/bin/sh
D='${dir}'
if [ "$1" != -k ] || [ $# -ne 3 ]; then echo "usage: bhyve -k config_file vmname" >&2; exit 1; fi
conf=$2 name=$3
ulimit -c 0 2>/dev/null
printf 'bhyve %s pid=%s\\n' "$*" "$$" >> "$D/calls/$name.log"
cp "$conf" "$D/k/$name.$$" || exit 4
: > "$D/vmm/$name"
cat "$D/console.txt"
cat "$D/diagnostic.txt" >&2
act() {
  case $1 in
  exit) exit "$2" ;;
  signal) kill -s "$2" $$; sleep 5; exit 99 ;;
  esac
}
mode=$(cat "$D/ctl/$name.mode" 2>/dev/null)
term=
trap 'term=1' TERM
case $mode in exit*) act $mode ;; esac
while :; do
  if [ -n "$term" ]; then
    term=
    if [ "$mode" = ignore-term ] || [ "$mode" = deaf ]; then
      echo bhyve-sigterm-ignored >> "$D/calls/$name.log"
    else
      echo bhyve-sigterm >> "$D/calls/$name.log"
      sleep 0.1
      echo "ACPI power button pressed: powering off" >&2
      exit 1
    fi
  fi
  if [ -f "$D/ctl/$name.now" ]; then
    now=$(cat "$D/ctl/$name.now")
    rm -f "$D/ctl/$name.now"
    if [ "$mode" = deaf ]; then echo bhyve-ignored-command >> "$D/calls/$name.log"; else act $now; fi
  fi
  sleep 0.05
done
`;
}

function bhyvectlScript(dir: string): string {
  return `#!/bin/sh
D='${dir}'
name= op=
for arg; do
  case $arg in
  --vm=*) name=\${arg#--vm=} ;;
  --destroy) op=destroy ;;
  --force-poweroff) op=poweroff ;;
  --force-reset) op=reset ;;
  *) echo "bhyvectl: unrecognized option $arg" >&2; exit 1 ;;
  esac
done
if [ -z "$name" ] || [ -z "$op" ]; then echo "usage: bhyvectl --vm=name [--destroy|--force-poweroff|--force-reset]" >&2; exit 1; fi
printf 'bhyvectl %s\\n' "$*" >> "$D/calls/$name.log"
if [ ! -f "$D/vmm/$name" ]; then echo "vm_open: $name could not be opened: No such file or directory" >&2; exit 1; fi
case $op in
destroy) rm -f "$D/vmm/$name" ;;
poweroff) echo "exit 1" > "$D/ctl/$name.tmp" && mv "$D/ctl/$name.tmp" "$D/ctl/$name.now" ;;
reset) echo "exit 0" > "$D/ctl/$name.tmp" && mv "$D/ctl/$name.tmp" "$D/ctl/$name.now" ;;
esac
exit 0
`;
}

/** One hook run, as the recording hook wrote it. */
export interface HookRecord {
  state: string;
  vm: string;
  reason: string;
  /** VMSTATED_PID / VMSTATED_EXIT, or 'unset'. */
  pid: string;
  exit: string;
  cwd: string;
  configdir: string;
}

export interface StandIns {
  dir: string;
  bhyve: string;
  bhyvectl: string;
  /** `--bhyve`/`--bhyvectl` for vmstated's command line. */
  daemonArgs: string[];
  /** The body of a hook that records its environment (then runs `then`). */
  recordingHook(then?: string): string;
  /** Recording hooks for every state but `stopped`'s initial one (which never runs a hook). */
  allHooks(overrides?: Partial<Record<VmState, string>>): Record<string, string>;
  /** Raw recorded lines for `vm`, in order. */
  calls(vm: string): string[];
  /**
   * The calls as tokens: a hook's state, `launch`, `destroy`, `force-poweroff`, `force-reset`,
   * `sigterm`, `sigterm-ignored`, `ignored-command`; consecutive destroys count as one; a launch goes before the hooks
   * recorded between the daemon's spawn and bhyve's own record. `from`: skip that many calls.
   */
  tokens(vm: string, from?: number): string[];
  hooks(vm: string, from?: number): HookRecord[];
  /** bhyve pids launched for `vm`, in order. */
  launchPids(vm: string, from?: number): number[];
  /** What bhyve pid `pid` got as its -k file. */
  configSeen(vm: string, pid: number): string;
  /** Sets (or with null, clears) the behaviour at launch. */
  setMode(vm: string, mode: string | null): void;
  /** Tells the running bhyve to `exit CODE` or `signal SIG` now. */
  command(vm: string, command: string): void;
  /** Whether the stand-in's VM instance record exists (created by bhyve, removed by --destroy). */
  instanceExists(vm: string): boolean;
}

const HOOK_STATES = new Set<string>(VM_STATES);

export function writeStandIns(root: string): StandIns {
  const dir = path.join(root, 'standin');
  for (const sub of ['calls', 'ctl', 'k', 'vmm']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  const bhyve = path.join(dir, 'bhyve');
  const bhyvectl = path.join(dir, 'bhyvectl');
  fs.writeFileSync(bhyve, bhyveScript(dir), { mode: 0o755 });
  fs.writeFileSync(bhyvectl, bhyvectlScript(dir), { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'console.txt'), `${CONSOLE_TEXT}\n`);
  fs.writeFileSync(path.join(dir, 'diagnostic.txt'), `${DIAGNOSTIC_TEXT}\n`);

  const calls = (vm: string): string[] => {
    try {
      return fs.readFileSync(path.join(dir, 'calls', `${vm}.log`), 'utf8').split('\n').filter((line) => line !== '');
    } catch {
      return [];
    }
  };
  const token = (line: string): string => {
    const words = line.split(' ');
    if (words[0] === 'hook') return words[1]!;
    if (words[0] === 'bhyve') return 'launch';
    if (words[0] === 'bhyvectl') return words[2]!.replace(/^--/, '');
    return line.replace(/^bhyve-/, '');
  };
  const recordingHook = (then = ''): string =>
    `printf 'hook %s vm=%s reason=%s pid=%s exit=%s cwd=%s configdir=%s\\n' "$VMSTATED_STATE" "$VMSTATED_VM" "$VMSTATED_REASON" ` +
    `"\${VMSTATED_PID-unset}" "\${VMSTATED_EXIT-unset}" "$(pwd)" "$VMSTATED_CONFIGDIR" >> '${dir}/calls/'"$VMSTATED_VM.log"\n` +
    `echo "hook $VMSTATED_STATE of $VMSTATED_VM says hello"\n${then}`;

  return {
    dir,
    bhyve,
    bhyvectl,
    daemonArgs: ['--bhyve', bhyve, '--bhyvectl', bhyvectl],
    recordingHook,
    allHooks(overrides = {}) {
      const states: VmState[] = ['start_network', 'start_storage', 'running', 'restarting', 'restarted', 'stopping', 'stop_storage', 'stop_network', 'stopped', 'failed'];
      return Object.fromEntries(states.map((state) => [state, overrides[state] ?? recordingHook()]));
    },
    calls,
    tokens(vm, from = 0) {
      const tokens: string[] = [];
      for (const line of calls(vm).slice(from)) {
        const next = token(line);
        if (next === 'destroy' && tokens.at(-1) === 'destroy') continue;
        if (next === 'launch') {
          // bhyve records itself once it runs, which may be after the daemon has moved on to the
          // next hook: put the launch back before those hooks (never before a bhyvectl call)
          let at = tokens.length;
          while (at > 0 && HOOK_STATES.has(tokens[at - 1]!)) at--;
          tokens.splice(at, 0, next);
          continue;
        }
        tokens.push(next);
      }
      return tokens;
    },
    hooks(vm, from = 0) {
      return calls(vm)
        .slice(from)
        .filter((line) => line.startsWith('hook '))
        .map((line) => {
          const fields = Object.fromEntries(line.split(' ').slice(2).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
          return { state: line.split(' ')[1]!, ...fields } as HookRecord;
        });
    },
    launchPids(vm, from = 0) {
      return calls(vm)
        .slice(from)
        .filter((line) => line.startsWith('bhyve '))
        .map((line) => Number(/ pid=(\d+)$/.exec(line)![1]));
    },
    configSeen(vm, pid) {
      return fs.readFileSync(path.join(dir, 'k', `${vm}.${pid}`), 'utf8');
    },
    setMode(vm, mode) {
      const file = path.join(dir, 'ctl', `${vm}.mode`);
      if (mode === null) fs.rmSync(file, { force: true });
      else fs.writeFileSync(file, `${mode}\n`);
    },
    command(vm, command) {
      const tmp = path.join(dir, 'ctl', `${vm}.now.tmp`);
      fs.writeFileSync(tmp, `${command}\n`);
      fs.renameSync(tmp, path.join(dir, 'ctl', `${vm}.now`));
    },
    instanceExists(vm) {
      return fs.existsSync(path.join(dir, 'vmm', vm));
    },
  };
}
