/**
 * Serving mode: acquire the socket and pidfile, load the configs, re-attach to running workers,
 * report readiness, autostart, then serve until SIGTERM/SIGINT or a `shutdown` request.
 */
import fs from 'node:fs';
import { createRequestHandler } from './commands.js';
import type { DaemonControl } from './commands.js';
import { claimInstance, claimRunDir } from './instance.js';
import { createDaemonLog } from './logger.js';
import type { DaemonLog } from './logger.js';
import type { DaemonOptions } from './options.js';
import { removePidfile, writePidfile } from './pidfile.js';
import { preparePrivateDirectory } from './private-dirs.js';
import { reportFailure, reportReady, takeReadyFd } from '../shared/readiness.js';
import { daemonize } from './readiness.js';
import { DaemonMetrics } from './metrics.js';
import { MetricsListener } from './metrics-http.js';
import { reattachWorkers } from './reattach.js';
import { Registry } from './registry.js';
import { brokenSets, loadConfigs, reload } from './reload.js';
import { ControlServer } from './server.js';
import type { FileLock } from '../shared/file-lock.js';
import { checkSocketPaths } from './socket-paths.js';

export async function run(options: DaemonOptions, argv: readonly string[]): Promise<number> {
  const readyFd = takeReadyFd();
  if (!options.foreground && readyFd === null) return daemonize(argv);
  // The daemonized child: its options are resolved against the caller's directory; from here on it
  // holds none, and a relative `.include` reads from / at startup as at every reload.
  if (readyFd !== null) process.chdir('/');
  // A SIGHUP (reload) or SIGUSR1 (log rotation) while starting up must not kill us: their default
  // action would. A listener on SIGUSR1 also keeps Node from opening its inspector on it, which
  // in a root daemon would hand a debugger to whoever reaches 127.0.0.1:9229.
  const ignoreSignal = (): void => {};
  process.on('SIGHUP', ignoreSignal);
  process.on('SIGUSR1', ignoreSignal);
  const fail = (message: string): number => {
    if (readyFd !== null) reportFailure(readyFd, message);
    else process.stderr.write(`vmstated: ${message}\n`);
    return 1;
  };
  try {
    preparePrivateDirectory(options.logdir, 'log directory');
    preparePrivateDirectory(options.rundir, 'run directory');
  } catch (err) {
    return fail((err as Error).message);
  }
  let daemonLog: DaemonLog;
  try {
    daemonLog = createDaemonLog({ foreground: readyFd === null, verbose: options.verbose, logdir: options.logdir });
  } catch (err) {
    return fail(`cannot open the log in ${options.logdir}: ${(err as Error).message}`);
  }
  const daemon = new Daemon(options, daemonLog);
  try {
    await daemon.startUp();
  } catch (err) {
    daemonLog.log.fatal({ err }, 'startup failed');
    await daemon.abort();
    daemonLog.flush();
    return fail((err as Error).message);
  }
  if (readyFd !== null) reportReady(readyFd);
  process.off('SIGHUP', ignoreSignal); // SIGUSR1's stays: no moment without a listener
  return daemon.serve();
}

class Daemon {
  private readonly log;
  private readonly registry: Registry;
  private readonly server: ControlServer;
  private readonly metrics: DaemonMetrics;
  private metricsListener: MetricsListener | null = null;
  private ownsSocket = false;
  private ownsPidfile = false;
  private runDirLock: FileLock | null = null;
  private shutdownStarted = false;
  private finished!: (status: number) => void;
  private readonly done = new Promise<number>((resolve) => (this.finished = resolve));
  private markAttached!: () => void;
  private readonly attached = new Promise<void>((resolve) => (this.markAttached = resolve));

  constructor(
    private readonly options: DaemonOptions,
    private readonly daemonLog: DaemonLog,
  ) {
    this.log = daemonLog.log;
    this.registry = new Registry({ ...options, log: this.log });
    this.metrics = new DaemonMetrics(this.registry);
    const control: DaemonControl = {
      registry: this.registry,
      metrics: this.metrics,
      logdir: options.logdir,
      reload: () => reload(this.registry),
      shutdown: (keepVms) => this.shutdown(keepVms, 'shutdown request'),
    };
    const handle = createRequestHandler(control);
    // Requests wait until re-attach is done: before that, a running VM would look stopped and a
    // start could launch a second bhyve for it.
    this.server = new ControlServer(async (request, session) => {
      await this.attached;
      return handle(request, session);
    }, this.log);
    this.server.onInvalid = (code) => this.metrics.countRequest(null, code);
    this.metrics.unreadReplyBytes = () => this.server.unreadReplyBytes;
  }

  /** Everything that must work before we tell anyone we serve; throws with a message for a person. */
  async startUp(): Promise<void> {
    const { configdir, sockpath, pidfile } = this.options;
    if (!fs.statSync(configdir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new Error(`cannot read the config directory ${configdir}: it does not exist or is not a directory`);
    }
    checkSocketPaths(this.options);
    await claimInstance(pidfile, sockpath);
    this.runDirLock = claimRunDir(this.options.rundir);
    const load = await loadConfigs(configdir);
    this.registry.addConfigs(load.vms, load.problems);
    this.registry.brokenNames = brokenSets(load).names;
    this.metrics.configLoaded();
    for (const problem of load.problems) {
      this.log[problem.severity === 'error' ? 'error' : 'warn'](
        { file: problem.file, line: problem.line, column: problem.column, vm: problem.vm },
        problem.message,
      );
    }
    await this.server.listen(sockpath);
    this.ownsSocket = true;
    if (this.options.metricsListen !== null) {
      // Bound now (a busy port fails the start); scrapes wait for re-attach, as requests do.
      const exposition = async (): Promise<string> => {
        await this.attached;
        return this.metrics.exposition();
      };
      this.metricsListener = new MetricsListener(exposition, this.metrics.contentType, this.log);
      await this.metricsListener.listen(this.options.metricsListen);
    }
    try {
      writePidfile(pidfile);
    } catch (err) {
      throw new Error(`cannot write the pidfile ${pidfile}: ${(err as Error).message}`);
    }
    this.ownsPidfile = true;
    await reattachWorkers(this.registry);
    this.markAttached();
    this.log.info({ socket: sockpath, configdir, vms: this.registry.entries.size, problems: load.problems.length }, 'vmstated serving');
  }

  /** Serves until shut down; resolves to the exit status. */
  async serve(): Promise<number> {
    process.on('SIGTERM', () => this.shutdown(false, 'SIGTERM'));
    process.on('SIGINT', () => this.shutdown(false, 'SIGINT'));
    process.on('SIGHUP', () => this.onHangup());
    process.on('SIGUSR1', () => this.reopenLogs('SIGUSR1'));
    process.on('SIGPIPE', () => {});
    process.on('uncaughtException', (err) => this.log.fatal({ err }, 'uncaught exception'));
    process.on('unhandledRejection', (err) => this.log.error({ err }, 'unhandled rejection'));
    void this.registry.autostart().catch((err: unknown) => this.log.error({ err }, 'autostart failed'));
    const status = await this.done;
    this.daemonLog.flush();
    // Worker links, timers and sockets are all let go: exit now rather than wait on stragglers.
    process.exit(status);
  }

  /** After a rotation (newsyslog sends SIGUSR1): the daemon log and every worker's VM log. */
  private reopenLogs(why: string): void {
    this.daemonLog.reopen();
    this.log.info(`${why}: logs reopened`);
    for (const entry of this.registry.entries.values()) {
      entry.worker?.api.reopenLog().catch(() => {});
    }
  }

  private onHangup(): void {
    this.reopenLogs('SIGHUP');
    this.log.info('SIGHUP: reloading configs');
    reload(this.registry).catch((err: unknown) => this.log.error({ err }, 'reload failed'));
  }

  private shutdown(keepVms: boolean, why: string): void {
    if (this.shutdownStarted) {
      this.log.warn({ why }, 'already shutting down; letting the VMs finish stopping');
      return;
    }
    this.shutdownStarted = true;
    this.log.info({ why, keepVms }, keepVms ? 'shutting down, leaving the VMs running' : 'shutting down: stopping every VM');
    void (async () => {
      try {
        await this.registry.shutdown(keepVms);
      } catch (err) {
        this.log.error({ err }, 'shutdown trouble');
      }
      await Promise.all([this.server.close(), this.metricsListener?.close()]);
      this.cleanUp();
      this.log.info('vmstated exits');
      this.finished(0);
    })();
  }

  /** After a failed startup: stop listening and remove what we made, so the process can end. */
  async abort(): Promise<void> {
    await Promise.all([this.server.close(0), this.metricsListener?.close()]);
    for (const entry of this.registry.entries.values()) entry.worker?.detach();
    this.cleanUp();
  }

  /** Removes the socket and pidfile, if they are ours. */
  cleanUp(): void {
    if (this.ownsSocket) fs.rmSync(this.options.sockpath, { force: true });
    if (this.ownsPidfile) removePidfile(this.options.pidfile);
    this.ownsSocket = false;
    this.ownsPidfile = false;
    this.runDirLock?.release({ remove: true });
    this.runDirLock = null;
  }
}
