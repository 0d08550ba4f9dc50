/**
 * bhyve(8)'s command line, parsed as its getopt(3) loop does: options first (clustered or not),
 * the first non-option ends them, `-k` and `-o` apply in order so later settings win.
 * Device options (-s, -l, -p, ...) are accepted loosely: the simulator has no devices.
 */
import { type BhyveConfig, loadConfigFile, parseConfigOption } from './configfile.js';
import { SimExit } from './failure.js';
import { EX_USAGE } from '../shared/sysexits.js';

const FLAGS: Record<string, [string, string] | null> = {
  a: ['x86.x2apic', 'false'],
  A: ['acpi_tables', 'true'],
  C: ['memory.guest_in_core', 'true'],
  D: ['destroy_on_poweroff', 'true'],
  e: ['x86.strictio', 'true'],
  H: ['x86.vmexit_on_hlt', 'true'],
  I: null,
  P: ['x86.vmexit_on_pause', 'true'],
  S: ['memory.wired', 'true'],
  u: ['rtc.use_localtime', 'false'],
  w: ['x86.strictmsr', 'false'],
  W: ['virtio_msix', 'false'],
  x: ['x86.x2apic', 'true'],
  Y: ['x86.mptable', 'false'],
};
const WITH_ARGUMENT = 'kopGcsmlKU';

export function bhyveUsage(progname = 'bhyve'): string {
  const pad = ' '.repeat(progname.length);
  return [
    `Usage: ${progname} [-AaCDeHhPSuWwxY]`,
    `       ${pad} [-c [[cpus=]numcpus][,sockets=n][,cores=n][,threads=n]]`,
    `       ${pad} [-G port] [-k config_file] [-l lpc] [-m mem] [-o var=value]`,
    `       ${pad} [-p vcpu:hostcpu] [-s pci] [-U uuid] vmname`,
    '       -k: key=value flat config file     -o: set config \'var\' to \'value\'',
    '       -c: number of CPUs and/or topology  -m: memory size (MB, or with a k/m/g/t suffix)',
    '       -D: destroy on power-off            -h: help',
    '       (-a -A -C -e -G -H -I -K -l -P -p -S -s -U -u -W -w -x -Y are accepted and ignored)',
    '',
    'This is the bhyve simulator of vmstated (no FreeBSD, no guest). Simulator-only settings,',
    'config variables that real bhyve ignores (in the -k file or with -o):',
    '  sim.guest=ACTION[@DURATION]  what the guest does after DURATION (default at once):',
    '        run (default, forever), reboot (exit 0), poweroff (exit 1), halt (exit 2),',
    '        triplefault (exit 3), error (exit 4), abort (killed by SIGABRT),',
    '        hang (runs and ignores the ACPI power button)',
    '  sim.after=DURATION           same as ACTION@DURATION',
    '  sim.times=N                  do the action on the first N boots of this VM name only,',
    '                               then just run (boots are counted across --destroy)',
    '  sim.acpi=honour|ignore       SIGTERM (ACPI power button): shut down (exit 1) or ignore',
    '  sim.acpi_delay=DURATION      guest shutdown time after SIGTERM (default 200ms)',
    '  sim.acpi_ready=DURATION      before this, SIGTERM kills bhyve at once (firmware stage)',
    '  sim.flood=N                  print N console lines as fast as possible at boot',
    '  sim.flood_bytes=N            print N console bytes without a newline at boot, as fast',
    '                               as they are read',
    '  sim.console=TEXT             extra console lines at boot (\\n separates lines)',
    '  sim.stderr=TEXT              extra diagnostic lines on stderr at boot',
    'DURATION: 250ms, 2s, 1.5s, 1min, 1h; a plain number is seconds.',
    'State: $BHYVE_SIM_DIR (default <tmpdir>/bhyve-sim-<uid>): vmm/<name> is the simulated',
    '/dev/vmm/<name>, kept after exit until `bhyvectl --vm=<name> --destroy`.',
  ].join('\n');
}

function usageError(reason: string | null, code = 1): SimExit {
  return new SimExit(code, reason === null ? bhyveUsage() : `${reason}\n${bhyveUsage()}`);
}

/** topology_parse(): `N` or `cpus=N,sockets=N,cores=N,threads=N`; false when malformed. */
function parseTopology(option: string, config: BhyveConfig): boolean {
  if (option === '') {
    for (const key of ['sockets', 'cores', 'threads', 'cpus']) config.set(key, '1');
    return true;
  }
  for (const part of option.split(',')) {
    const match = /^(cpus|sockets|cores|threads)=(.*)$/.exec(part);
    if (match !== null) config.set(match[1], match[2]);
    else if (part.includes('=')) return false;
    else config.set('cpus', part);
  }
  return true;
}

/** lpc_device_parse(), loosely: bootrom,ROM[,VARS] and comN,PATH set the variables bhyve sets. */
function parseLpc(option: string, config: BhyveConfig): boolean {
  const [device, ...rest] = option.split(',');
  if (device === 'bootrom') {
    if (rest[0] === undefined) return false;
    config.set('lpc.bootrom', rest[0]);
    if (rest[1] !== undefined) config.set('lpc.bootvars', rest[1]);
    return true;
  }
  if (/^com[1-4]$/.test(device)) {
    if (rest.length > 0) config.set(`lpc.${device}.path`, rest.join(','));
    return true;
  }
  return ['pc-testdev', 'fwcfg', 'tpm'].includes(device);
}

function applyOption(letter: string, value: string, config: BhyveConfig, configFiles: string[]): void {
  switch (letter) {
    case 'k':
      loadConfigFile(value, config);
      configFiles.push(value);
      return;
    case 'o':
      if (!parseConfigOption(value, config)) throw new SimExit(EX_USAGE, `bhyve: invalid configuration option '${value}'`);
      return;
    case 'm': config.set('memory.size', value); return;
    case 'c':
      if (!parseTopology(value, config)) throw new SimExit(EX_USAGE, `bhyve: invalid cpu topology '${value}'`);
      return;
    case 'p':
      if (!/^[0-9]+:[0-9]+$/.test(value)) throw new SimExit(EX_USAGE, `bhyve: invalid vcpu pinning configuration '${value}'`);
      return;
    case 'l':
      if ('help'.startsWith(value)) throw new SimExit(0, 'bootrom\ncom1\ncom2\ncom3\ncom4\nfwcfg\npc-testdev');
      if (!parseLpc(value, config)) throw new SimExit(EX_USAGE, `bhyve: invalid lpc device configuration '${value}'`);
      return;
    case 's':
      if ('help'.startsWith(value)) throw new SimExit(0, 'hostbridge\nlpc\nvirtio-blk\nvirtio-net\nahci-hd\nahci-cd');
      return;
    case 'G': config.set('gdb.port', value); return;
    case 'K': config.set('keyboard.layout', value); return;
    case 'U': config.set('uuid', value); return;
  }
}

export interface BhyveArguments {
  /** What follows the options: the VM name (more than one is a usage error). */
  operands: string[];
  /** The -k files, in the order read. */
  configFiles: string[];
}

/** Applies the options to config, in order. */
export function parseBhyveArguments(argv: string[], config: BhyveConfig): BhyveArguments {
  const configFiles: string[] = [];
  let index = 0;
  for (; index < argv.length; index++) {
    const argument = argv[index];
    if (argument === '--') {
      index++;
      break;
    }
    if (argument === '--help') throw new SimExit(0, bhyveUsage());
    if (!argument.startsWith('-') || argument === '-') break;
    for (let position = 1; position < argument.length; position++) {
      const letter = argument[position];
      if (letter === 'h') throw new SimExit(0, bhyveUsage());
      if (letter in FLAGS) {
        const setting = FLAGS[letter];
        if (setting !== null) config.set(setting[0], setting[1]);
        continue;
      }
      if (!WITH_ARGUMENT.includes(letter)) throw usageError(`bhyve: illegal option -- ${letter}`);
      let value = argument.slice(position + 1);
      if (value === '') {
        index++;
        if (index >= argv.length) throw usageError(`bhyve: option requires an argument -- ${letter}`);
        value = argv[index];
      }
      applyOption(letter, value, config, configFiles);
      break;
    }
  }
  return { operands: argv.slice(index), configFiles };
}

/** The usage error bhyve gives for a missing or extra VM name. */
export function missingName(): SimExit {
  return usageError(null);
}
