/** The VM configuration model: what one `<configdir>/<dir>/config` file means. */

/** One VM, with every default applied and every path absolute. */
export interface VmConfig {
  /** The VM name: the `name` key, or the top-level key of the config file. */
  name: string;
  /** The config file this VM was read from (absolute). */
  file: string;
  /** The directory holding that file (absolute). */
  dir: string;
  /** The bhyve config file (absolute; a relative `configfile` is relative to `dir`). */
  configfile: string;
  /** Where hook scripts live (absolute; default `dir`). */
  scriptpath: string;
  os?: string;
  osversion?: string;
  owner?: string;
  group?: string;
  description?: string;
  /** Automatic restarts allowed within `maxrestarttime` (default 3). */
  maxrestart: number;
  /** The restart window, in seconds (default 30). */
  maxrestarttime: number;
  bootrom?: string;
  generateAcpiTables?: boolean;
  vmexitOnHalt?: boolean;
  /** Guest memory in MiB. */
  memoryMiB?: number;
  cpus?: number;
  sockets?: number;
  cores?: number;
  threads?: number;
  autostart: boolean;
  /** Lower starts first; equal orders start in parallel; shutdown runs in reverse. Default 0. */
  startorder: number;
  /** Seconds to wait after this VM is running before the next order starts. Default 0. */
  startdelay: number;
  /** Seconds a guest gets to power off after SIGTERM before the force. Default 60. */
  stoptimeout: number;
  /** Seconds a hook script may run. Default 120. */
  hooktimeout: number;
  /**
   * Seconds bhyve must stay up after a launch before the VM counts as running; an exit within it
   * fails a start (workers/settle.ts). 0 turns it off. Default 1.
   */
  settletime: number;
}

export type ProblemSeverity = 'error' | 'warning';

/** A problem found while loading configs, printed as `file:line:column: message`. */
export interface ConfigProblem {
  severity: ProblemSeverity;
  file: string;
  /** 1-based; 0 when the problem concerns the whole file (it cannot be read, a hook script). */
  line: number;
  column: number;
  /** For root: the whole story, which may quote the file (a bhyve config line, a key). */
  message: string;
  /**
   * The kind of problem in a few fixed words (`UCL syntax error`, `unknown key`, `file not
   * trusted: writable by group`): what anyone but root is shown instead of the message, so it
   * never holds a file's content.
   */
  kind: string;
  /** The VM the problem belongs to, when it is known. */
  vm?: string;
}

export interface ConfigDirLoad {
  /** VMs that loaded without errors (they may have warnings). */
  vms: VmConfig[];
  /** Every problem, errors and warnings, in file order. */
  problems: ConfigProblem[];
  /** Config files that define no usable VM (they have errors), with the VM name when it is known. */
  rejected?: RejectedVm[];
}

/** A config file that was not loaded because of its errors. */
export interface RejectedVm {
  file: string;
  /** The VM name, when the file got far enough to tell. */
  name?: string;
  /** Its problems (errors and warnings), also listed in `ConfigDirLoad.problems`. */
  problems: ConfigProblem[];
}
