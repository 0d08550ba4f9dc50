/** What each control request does (DESIGN.md section 6), after authorization by peer credentials. */
import path from 'node:path';
import { authorize, canSee, filterVisible } from '../auth/authorize.js';
import type { PeerCredentials } from '../auth/peercred.js';
import { problemsForUid } from '../config/redact.js';
import { describeRequest, errorReply, okReply, okReplyEncoded } from '../protocol/request.js';
import type { Command, EventLine, VmEvent } from '../protocol/types.js';
import { PROTOCOL_VERSION } from '../protocol/types.js';
import type { CommandOutcome } from '../../workers/api.js';
import type { DaemonMetrics } from './metrics.js';
import { attachConsole, consoleInput } from './console-relay.js';
import { LimitError } from './connection-limits.js';
import { PerUserGate } from './log-reads.js';
import { TAIL_WINDOW_BYTES, tailLines } from './log-tail.js';
import { followLog } from './logs-follow.js';
import { BULK_REPLY_COMMANDS } from './reply-budget.js';
import { CommandError, SupersededError } from './registry.js';
import type { Registry } from './registry.js';
import type { ReloadSummary } from './reload.js';
import type { ParsedRequest, RequestHandler, Session } from './server.js';
import { StatusListCache } from './status-list.js';
import type { VmEntry } from './vm-entry.js';

/** What the request handlers may ask of the daemon as a whole. */
export interface DaemonControl {
  registry: Registry;
  /** The daemon's metrics (absent in tests that need none: `metrics` then fails, nothing is counted). */
  metrics?: DaemonMetrics;
  logdir: string;
  reload(): Promise<ReloadSummary>;
  /** Begins the shutdown (after the reply went out). */
  shutdown(keepVms: boolean): void;
}

/** Lines `logs` returns when the request does not say. */
export const DEFAULT_LOG_LINES = 20;

const logReads = new PerUserGate();

/** A `status` result: the VMs whose statuses the reply lists (encoded by a StatusListCache). */
class StatusList {
  constructor(readonly entries: readonly VmEntry[]) {}
}

type Handler = (ctl: DaemonControl, request: ParsedRequest, session: Session) => Promise<unknown>;

/** The VM a request names, if the peer may see it; hidden VMs are NOT_FOUND, as missing ones. */
function visibleVm(ctl: DaemonControl, peer: PeerCredentials, cmd: Command, name: string): VmEntry {
  const entry = ctl.registry.get(name);
  const decision = entry === undefined ? 'hidden' : authorize(peer, cmd, entry.config);
  if (entry === undefined || decision === 'hidden') throw new CommandError('NOT_FOUND', `no VM named "${name}"`);
  if (decision === 'forbidden') throw new CommandError('FORBIDDEN', `VM "${name}": you may not ${cmd} it`);
  return entry;
}

/** The VMs a request covers: the named one, or every one the peer may see. */
function visibleVms(ctl: DaemonControl, request: ParsedRequest, peer: PeerCredentials): VmEntry[] {
  const name = request.args.vm as string | undefined;
  if (name !== undefined) return [visibleVm(ctl, peer, request.cmd, name)];
  return filterVisible(peer, ctl.registry.entries.values(), (entry) => entry.config);
}

function rootOnly(ctl: DaemonControl, request: ParsedRequest, peer: PeerCredentials): void {
  if (authorize(peer, request.cmd) === 'forbidden') throw new CommandError('FORBIDDEN', `only root may ${request.cmd}`);
  const args = Object.keys(request.args).length > 0 ? { args: request.args } : {};
  ctl.registry.log.info({ uid: peer.uid, peerPid: peer.pid, ...args }, `${request.cmd} requested`);
}

/** start/stop/restart/failreset: the reply comes with the outcome, or at once with wait: false. */
function lifecycle(run: (registry: Registry, vm: string) => Promise<CommandOutcome>): Handler {
  return async (ctl, request, session) => {
    const entry = visibleVm(ctl, session.peer, request.cmd, request.args.vm as string);
    // Refused at once (LimitError) when the VM has too many commands waiting: only what is queued
    // is logged here, so a flood of refused commands does not grow the log (refusals are rate-limited).
    const pending = run(ctl.registry, entry.name);
    ctl.registry.log.info({ vm: entry.name, uid: session.peer.uid, peerPid: session.peer.pid }, `${request.cmd} ${entry.name} requested`);
    if (request.args.wait === false) {
      // A command ended before it ran is logged once with all the others it ended with (registry.ts).
      pending.catch((err: unknown) => {
        if (!(err instanceof SupersededError)) ctl.registry.log.error({ vm: entry.name, cmd: request.cmd, err }, 'command failed');
      });
      return { ok: true, status: entry.status };
    }
    const outcome = await pending;
    if (!outcome.ok) throw new CommandError('FAILED', `VM "${entry.name}": ${outcome.error ?? `${request.cmd} failed`}`, outcome.bhyveStderr);
    return outcome;
  };
}

function eventVisible(ctl: DaemonControl, peer: PeerCredentials, event: VmEvent, only: string | undefined): boolean {
  // A reload's event counts the problems of every VM's config, which only root may know of.
  if (!('vm' in event)) return only === undefined && peer.uid === 0;
  if (only !== undefined && event.vm !== only) return false;
  const entry = ctl.registry.get(event.vm);
  return entry === undefined ? peer.uid === 0 : canSee(peer, entry.config);
}

function canSeeVm(ctl: DaemonControl, peer: PeerCredentials, vm: string): boolean {
  const entry = ctl.registry.get(vm);
  return entry !== undefined && canSee(peer, entry.config);
}

/** A stream lasts as long as its connection: the request counts as unanswered until then. */
function untilClosed(session: Session): Promise<void> {
  return new Promise((resolve) => session.onClose(resolve));
}

const HANDLERS: Record<Command, Handler> = {
  // Joined from each VM's cached JSON: the hot path of every `vmstatedctl status` and of monitoring.
  status: async (ctl, request, session) => new StatusList(visibleVms(ctl, request, session.peer)),

  start: lifecycle((registry, vm) => registry.start(vm)),
  stop: lifecycle((registry, vm) => registry.stop(vm)),
  restart: lifecycle((registry, vm) => registry.restart(vm)),
  failreset: lifecycle((registry, vm) => registry.failreset(vm)),

  // Pids only: vmstatedctl samples CPU and memory itself (one sampler, with its FreeBSD ps fix).
  // Every VM the peer may see, stopped ones too (their pids are null): top shows them all.
  top: async (ctl, request, session) =>
    visibleVms(ctl, request, session.peer)
      .map(({ status }) => ({ name: status.name, state: status.state, pid: status.pid, workerPid: status.workerPid })),

  // The exposition text, as the metrics listener serves it; a user who is not root gets only the
  // series of the VMs they may see, and none of the daemon's own (they would tell of other VMs).
  metrics: async (ctl, _request, session) => {
    const { peer } = session;
    if (ctl.metrics === undefined) throw new CommandError('INTERNAL', 'this vmstated keeps no metrics');
    const visible = peer.uid === 0 ? undefined : (vm: string) => canSeeVm(ctl, peer, vm);
    return { contentType: ctl.metrics.contentType, text: await ctl.metrics.exposition(visible) };
  },

  // Anyone but root reads where each problem is and its kind, never its message (redact.ts).
  problems: async (ctl, request, session) => {
    const only = request.args.vm as string | undefined;
    if (only !== undefined) visibleVm(ctl, session.peer, request.cmd, only);
    // A config that could not be read far enough to name its VM still belongs to the VM loaded from that file.
    const byFile = new Map([...ctl.registry.entries.values()].map((entry) => [entry.config.file, entry]));
    const visible = ctl.registry.problems.filter((problem) => {
      const entry = problem.vm === undefined ? byFile.get(problem.file) : ctl.registry.get(problem.vm);
      if (only !== undefined) return (problem.vm ?? entry?.name) === only;
      if (session.peer.uid === 0) return true;
      return entry !== undefined && canSee(session.peer, entry.config);
    });
    return problemsForUid(session.peer.uid, visible);
  },

  reload: async (ctl, request, session) => {
    rootOnly(ctl, request, session.peer);
    let summary: ReloadSummary;
    try {
      summary = await ctl.reload();
    } catch (err) {
      throw new CommandError('FAILED', `cannot reload the configs: ${(err as Error).message}`);
    }
    return { ...summary, problems: ctl.registry.problems };
  },

  shutdown: async (ctl, request, session) => {
    rootOnly(ctl, request, session.peer);
    const keepVms = request.args.keepVms === true;
    session.send(okReply(request.id, { shuttingDown: true, keepVms }));
    ctl.shutdown(keepVms);
    return undefined;
  },

  logs: async (ctl, request, session) => {
    const entry = visibleVm(ctl, session.peer, request.cmd, request.args.vm as string);
    const file = path.join(ctl.logdir, `${entry.name}.log`);
    const count = (request.args.n as number | undefined) ?? DEFAULT_LOG_LINES;
    // Counted from before the read allocates until the lines are written (then as bytes unread).
    const reading = session.claimReplyBudget(TAIL_WINDOW_BYTES);
    try {
      const tail = await logReads.run(session.peer.uid, async () => (session.closed ? null : tailLines(file, count)));
      if (tail === null) return undefined; // nobody left to read it
      if (request.args.follow === true) {
        reading(); // followLog writes the lines before it first waits: they are counted as unread at once
        return await followLog(ctl.registry, entry.name, file, tail, request, session);
      }
      session.send(okReply(request.id, { lines: tail.lines }));
      return undefined;
    } finally {
      reading();
    }
  },

  events: async (ctl, request, session) => {
    const only = request.args.vm as string | undefined;
    if (only !== undefined) visibleVm(ctl, session.peer, request.cmd, only);
    session.openStream(); // freed when the connection closes
    session.send(okReply(request.id, { subscribed: true }));
    const forward = (event: VmEvent): void => {
      if (!eventVisible(ctl, session.peer, event, only)) return;
      const line: EventLine = { v: PROTOCOL_VERSION, event };
      if (!session.send(line)) ctl.registry.bus.off('event', forward);
    };
    ctl.registry.bus.on('event', forward);
    await untilClosed(session);
    ctl.registry.bus.off('event', forward);
    return undefined;
  },

  console: async (ctl, request, session) => attachConsole(ctl.registry, visibleVm(ctl, session.peer, request.cmd, request.args.vm as string), request, session),
  'console-input': async (_ctl, request, session) => consoleInput(request, session),
};

/** Runs one request; `undefined` from a handler means it replied (or streams) by itself. */
export function createRequestHandler(ctl: DaemonControl): RequestHandler {
  const statusList = new StatusListCache();
  return async (request, session) => {
    try {
      if (BULK_REPLY_COMMANDS.has(request.cmd)) session.claimReplyBudget();
      const result = await HANDLERS[request.cmd](ctl, request, session);
      if (result instanceof StatusList) session.send(okReplyEncoded(request.id, statusList.encode(result.entries)));
      else if (result !== undefined) session.send(okReply(request.id, result));
      ctl.metrics?.countRequest(request.cmd, 'ok');
    } catch (err) {
      ctl.metrics?.countRequest(request.cmd, err instanceof CommandError || err instanceof LimitError ? err.code : 'INTERNAL');
      if (!(err instanceof CommandError)) throw err;
      session.send(errorReply(request.id, err.code, `${describeRequest(request.id, request.cmd)}: ${err.message}`, err.bhyveStderr));
    }
  };
}
