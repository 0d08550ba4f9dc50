/** The command line of vmstated(8): `vmstated [-hfvn] [-c configdir] [-p pidfile] [-s sockpath] ...`. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseListenAddress } from './listen-address.js';
import type { ListenAddress } from './listen-address.js';

export const USAGE =
  'usage: vmstated [-hfvn] [-c configdir] [-p pidfile] [-s sockpath] [-l logdir] [-r rundir]\n' +
  '                [--bhyve path] [--bhyvectl path] [--metrics-listen [addr:]port]\n';

export const HELP =
  USAGE +
  '\n' +
  '  -h             print this summary and exit\n' +
  '  -f             run in the foreground (log to stderr)\n' +
  '  -v             log in more detail\n' +
  '  -n             check the VM configs, print every problem, exit 1 on any error\n' +
  '  -c configdir   VM config directory (default /usr/local/etc/vmstated)\n' +
  '  -p pidfile     pid file (default /var/run/vmstated.pid)\n' +
  '  -s sockpath    control socket (default /var/run/vmstated.sock)\n' +
  '  -l logdir      log directory (default /var/log/vmstated)\n' +
  '  -r rundir      run directory for VM workers (default /var/run/vmstated)\n' +
  '  --bhyve path   bhyve executable (default /usr/sbin/bhyve)\n' +
  '  --bhyvectl path  bhyvectl executable (default /usr/sbin/bhyvectl)\n' +
  '  --metrics-listen [addr:]port\n' +
  '                 serve Prometheus metrics at http://addr:port/metrics (addr default 127.0.0.1; off by default)\n';

export const DEFAULTS = {
  configdir: '/usr/local/etc/vmstated',
  pidfile: '/var/run/vmstated.pid',
  sockpath: '/var/run/vmstated.sock',
  logdir: '/var/log/vmstated',
  rundir: '/var/run/vmstated',
  bhyve: '/usr/sbin/bhyve',
  bhyvectl: '/usr/sbin/bhyvectl',
} as const;

export interface DaemonOptions {
  help: boolean;
  foreground: boolean;
  verbose: boolean;
  checkOnly: boolean;
  /** Every path is absolute: the daemon changes its directory to / once it runs. */
  configdir: string;
  pidfile: string;
  sockpath: string;
  logdir: string;
  rundir: string;
  bhyve: string;
  bhyvectl: string;
  /** Where the metrics listener binds; null: no listener (`vmstatedctl metrics` still works). */
  metricsListen: ListenAddress | null;
}

export class UsageError extends Error {}

/** Parses argv (without node and the script); throws UsageError on a bad command line. */
export function parseOptions(argv: readonly string[], cwd = process.cwd()): DaemonOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      allowPositionals: false,
      strict: true,
      options: {
        h: { type: 'boolean', short: 'h' },
        f: { type: 'boolean', short: 'f' },
        v: { type: 'boolean', short: 'v' },
        n: { type: 'boolean', short: 'n' },
        c: { type: 'string', short: 'c' },
        p: { type: 'string', short: 'p' },
        s: { type: 'string', short: 's' },
        l: { type: 'string', short: 'l' },
        r: { type: 'string', short: 'r' },
        bhyve: { type: 'string' },
        bhyvectl: { type: 'string' },
        'metrics-listen': { type: 'string' },
      },
    }));
  } catch (err) {
    throw new UsageError(`vmstated: ${(err as Error).message}`);
  }
  const pathOption = (value: string | undefined, fallback: string, flag: string): string => {
    if (value === undefined) return fallback;
    if (value === '') throw new UsageError(`vmstated: option ${flag} needs a non-empty path`);
    return path.resolve(cwd, value);
  };
  /** A program named without a slash is looked up in PATH, as a shell would. */
  const programOption = (value: string | undefined, fallback: string, flag: string): string =>
    value !== undefined && value !== '' && !value.includes('/') ? value : pathOption(value, fallback, flag);
  return {
    help: values.h ?? false,
    foreground: values.f ?? false,
    verbose: values.v ?? false,
    checkOnly: values.n ?? false,
    configdir: pathOption(values.c, DEFAULTS.configdir, '-c'),
    pidfile: pathOption(values.p, DEFAULTS.pidfile, '-p'),
    sockpath: pathOption(values.s, DEFAULTS.sockpath, '-s'),
    logdir: pathOption(values.l, DEFAULTS.logdir, '-l'),
    rundir: pathOption(values.r, DEFAULTS.rundir, '-r'),
    bhyve: programOption(values.bhyve, DEFAULTS.bhyve, '--bhyve'),
    bhyvectl: programOption(values.bhyvectl, DEFAULTS.bhyvectl, '--bhyvectl'),
    metricsListen: listenOption(values['metrics-listen']),
  };
}

function listenOption(value: string | undefined): ListenAddress | null {
  if (value === undefined) return null;
  try {
    return parseListenAddress(value);
  } catch (err) {
    throw new UsageError(`vmstated: option --metrics-listen: ${(err as Error).message}`);
  }
}
