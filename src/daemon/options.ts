/** The command line of vmstated(8): `vmstated [-hfvnV] [-c configdir] [-p pidfile] [-s sockpath] ...`. */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseListenAddress } from './listen-address.js';
import type { ListenAddress } from './listen-address.js';

export const USAGE =
  'usage: vmstated [-hfvnV] [-c configdir] [-p pidfile] [-s sockpath] [-l logdir] [-r rundir]\n' +
  '                [--bhyve path] [--bhyvectl path] [--metrics-listen [addr:]port]\n';

export const HELP =
  USAGE +
  '\n' +
  '  -h, --help     print this summary and exit\n' +
  '  -V, --version  print the version and exit\n' +
  '  -f             run in the foreground (log to stderr)\n' +
  '  -v             log in more detail\n' +
  '  -n             check the VM configs, print every problem, exit 1 on any error\n' +
  '  -c configdir   VM config directory (default /usr/local/etc/vmstated)\n' +
  '  -p pidfile     pid file (default /var/run/vmstated.pid)\n' +
  '  -s sockpath    control socket (default /var/run/vmstated.sock)\n' +
  '  -l logdir      log directory (default /var/log/vmstated)\n' +
  '  -r rundir      run directory for VM workers (default /var/run/vmstated)\n' +
  '  --bhyve path   bhyve executable (default /usr/sbin/bhyve; a name is looked up in PATH)\n' +
  '  --bhyvectl path  bhyvectl executable (default /usr/sbin/bhyvectl; likewise)\n' +
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
  version: boolean;
  foreground: boolean;
  verbose: boolean;
  checkOnly: boolean;
  /** Every path is absolute: the daemon changes its directory to / once it runs. */
  configdir: string;
  pidfile: string;
  sockpath: string;
  logdir: string;
  rundir: string;
  /** Absolute too: a name given without a slash is looked up in PATH once, at startup. */
  bhyve: string;
  bhyvectl: string;
  /** Where the metrics listener binds; null: no listener (`vmstatedctl metrics` still works). */
  metricsListen: ListenAddress | null;
}

export class UsageError extends Error {}

/**
 * Parses argv (without node and the script); throws UsageError on a bad command line. `searchPath`
 * is where --bhyve and --bhyvectl given as bare names are looked up.
 */
export function parseOptions(argv: readonly string[], cwd = process.cwd(), searchPath = process.env.PATH ?? ''): DaemonOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      allowPositionals: false,
      strict: true,
      options: {
        h: { type: 'boolean', short: 'h' },
        help: { type: 'boolean' },
        V: { type: 'boolean', short: 'V' },
        version: { type: 'boolean' },
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
    throw new UsageError(`vmstated: ${usageProblem(err as Error & { code?: string })}`);
  }
  const pathOption = (value: string | undefined, fallback: string, flag: string): string => {
    if (value === undefined) return fallback;
    if (value === '') throw new UsageError(`vmstated: option ${flag} needs a non-empty path`);
    return path.resolve(cwd, value);
  };
  /** A program named without a slash is looked up in PATH, as a shell would. */
  const programOption = (value: string | undefined, fallback: string, flag: string): string =>
    value !== undefined && value !== '' && !value.includes('/') ? lookUpProgram(value, flag, searchPath, cwd) : pathOption(value, fallback, flag);
  return {
    help: (values.h ?? false) || (values.help ?? false),
    version: (values.V ?? false) || (values.version ?? false),
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

/** node:util's parseArgs messages name a short option as `-c, --c`, an option vmstated does not have. */
function usageProblem(err: Error & { code?: string }): string {
  const option = /'(-\w)(?:, --\w)?(?: <value>)?'/.exec(err.message)?.[1] ?? /'(--[\w-]+)(?: <value>)?'/.exec(err.message)?.[1];
  if (option === undefined) return err.message;
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return `option ${option} needs a value`;
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option}`;
  return err.message;
}

/** The executable `name` in the first directory of `searchPath` that has one (an empty entry is the working directory). */
function lookUpProgram(name: string, flag: string, searchPath: string, cwd: string): string {
  for (const dir of searchPath.split(':')) {
    const candidate = path.resolve(cwd, dir === '' ? '.' : dir, name);
    try {
      if (fs.statSync(candidate).isFile()) {
        fs.accessSync(candidate, fs.constants.X_OK);
        return candidate;
      }
    } catch {
      // not here, or not executable: the next directory
    }
  }
  throw new UsageError(`vmstated: option ${flag}: no executable ${name} in PATH (${searchPath})`);
}

function listenOption(value: string | undefined): ListenAddress | null {
  if (value === undefined) return null;
  try {
    return parseListenAddress(value);
  } catch (err) {
    throw new UsageError(`vmstated: option --metrics-listen: ${(err as Error).message}`);
  }
}
