/**
 * `console` and `console-input` (vmstated(8), CONTROL PROTOCOL): a VM's console over the control
 * socket, for root and the VM's owner and group (authorized as start and stop are, before this is
 * called). Each attachment is one connection to the worker's console socket (workers/console-wire.ts),
 * relayed line by line: the worker's `out`, `dropped` and `end` messages become `data` lines of
 * the console request; `console-input` requests on the same connection become the worker's `in`.
 *
 * Flow control: when the viewer's connection has more queued than its high-water mark, the relay
 * stops reading the worker's socket until it drains; the worker then drops output for this viewer
 * alone and says how much (`dropped`), and the guest, the worker and the other viewers go on.
 * Nothing here buffers more than a line beyond the connection's own queue.
 *
 * An attachment whose peer may no longer use the VM (a reload changed its owner or group, or
 * removed it: stream-access.ts) is withdrawn: the relay stops, the `console` request ends with the
 * error FORBIDDEN, and its `console-input` is refused from then on with the same reason.
 */
import net from 'node:net';
import { LineReader } from '../protocol/framing.js';
import { okReply } from '../protocol/request.js';
import { MAX_LINE_BYTES, PROTOCOL_VERSION } from '../protocol/types.js';
import { consoleSocketPath, isConsoleData, type ConsoleHello } from '../../workers/console-wire.js';
import { CommandError } from './registry.js';
import type { Registry } from './registry.js';
import type { ParsedRequest, Session } from './server.js';
import { guardStream, type StreamGuard } from './stream-access.js';
import type { VmEntry } from './vm-entry.js';

/** How long the worker may take to accept or refuse a viewer. */
const HELLO_TIMEOUT_MS = 5000;
/** Keystrokes waiting for the worker beyond this are refused: a guest that does not read them. */
const MAX_QUEUED_INPUT_BYTES = 64 * 1024;

interface Attachment {
  readOnly: boolean;
  worker: net.Socket;
  guard: StreamGuard;
}

/** The consoles attached on each connection, by the id of their `console` request. */
const attachments = new WeakMap<Session, Map<string | number, Attachment>>();
/** Why each withdrawn console of a connection was withdrawn (`VM "web": access withdrawn ...`), by request id. */
const withdrawals = new WeakMap<Session, Map<string | number, string>>();

function attachmentsOf(session: Session): Map<string | number, Attachment> {
  let map = attachments.get(session);
  if (map === undefined) attachments.set(session, (map = new Map()));
  return map;
}

function withdrawalsOf(session: Session): Map<string | number, string> {
  let map = withdrawals.get(session);
  if (map === undefined) withdrawals.set(session, (map = new Map()));
  return map;
}

/** The `console` request for `entry` (already authorized): streams until the console or the connection ends. */
export async function attachConsole(registry: Registry, entry: VmEntry, request: ParsedRequest, session: Session): Promise<undefined> {
  const { id } = request;
  const readOnly = request.args.readOnly === true;
  if (attachmentsOf(session).has(id)) throw new CommandError('BAD_REQUEST', `a console is already attached as request ${JSON.stringify(id)} on this connection`);
  if (entry.worker === null) {
    throw new CommandError('INVALID_STATE', `VM "${entry.name}": it is ${entry.status.state}; it has a console while it runs (start it, or wait for it with vmstatedctl console --wait)`);
  }
  const hello: ConsoleHello = typeof request.args.history === 'number' ? { history: request.args.history } : {};
  // The attachment is one of the peer's streams (refused with LIMIT past the per-user limit).
  const releaseStream = session.openStream();
  let opened;
  try {
    opened = await openWorkerConsole(consoleSocketPath(registry.options.rundir, entry.name), entry.name, hello);
  } catch (error) {
    releaseStream();
    throw error;
  }
  const { worker, reader, rest } = opened;
  if (session.closed) {
    worker.destroy();
    return undefined;
  }
  withdrawalsOf(session).delete(id);
  const stopper: Stopper = { stop: () => {} };
  const guard = guardStream(registry, {
    cmd: request.cmd,
    vm: entry.name,
    peer: session.peer,
    withdraw: (why) => {
      // At once, before another keystroke is read: console-input finds the withdrawal, not the attachment.
      attachmentsOf(session).delete(id);
      withdrawalsOf(session).set(id, `VM "${entry.name}": ${why}`);
      stopper.stop();
    },
  });
  if (guard.check()) {
    attachmentsOf(session).set(id, { readOnly, worker, guard });
    session.send(okReply(id, { vm: entry.name, readOnly }));
    registry.log.info({ vm: entry.name, uid: session.peer.uid, peerPid: session.peer.pid, readOnly }, 'console attached');
    await relay(worker, reader, rest, request.id, session, stopper);
    guard.close();
    registry.log.info({ vm: entry.name, uid: session.peer.uid, peerPid: session.peer.pid }, 'console detached');
  }
  worker.destroy();
  releaseStream();
  const withdrawn = withdrawals.get(session)?.get(id);
  if (withdrawn !== undefined) throw new CommandError('FORBIDDEN', withdrawn);
  attachmentsOf(session).delete(id);
  return undefined;
}

/** `console-input`: keystrokes for a console attached on this connection. No reply when they are passed on. */
export async function consoleInput(request: ParsedRequest, session: Session): Promise<undefined> {
  const consoleId = request.args.console as string | number;
  // Checked for every keystroke too: a reload changes the VM's config before it re-checks the streams.
  const attachment = attachments.get(session)?.get(consoleId);
  attachment?.guard.check();
  const withdrawn = withdrawals.get(session)?.get(consoleId);
  if (withdrawn !== undefined) throw new CommandError('FORBIDDEN', withdrawn);
  if (attachment === undefined) throw new CommandError('NOT_FOUND', `no console is attached as request ${JSON.stringify(consoleId)} on this connection`);
  if (attachment.readOnly) throw new CommandError('FORBIDDEN', 'this console was attached read-only: its keystrokes do not reach the guest');
  if (attachment.worker.writableLength > MAX_QUEUED_INPUT_BYTES) throw new CommandError('FAILED', 'keystrokes dropped: the guest does not read its console');
  attachment.worker.write(`${JSON.stringify({ in: request.args.data })}\n`);
  return undefined;
}

/** Connects to the worker's console socket and waits for it to accept the viewer. */
async function openWorkerConsole(socketPath: string, vm: string, hello: ConsoleHello): Promise<{ worker: net.Socket; reader: LineReader; rest: string[] }> {
  const worker = net.connect(socketPath);
  const reader = new LineReader({ maxLineBytes: MAX_LINE_BYTES });
  const unavailable = (why: string): CommandError => new CommandError('INVALID_STATE', `VM "${vm}": its console is not available: ${why}`);
  const rest: string[] = [];
  try {
    const first = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(unavailable(`its worker did not answer within ${HELLO_TIMEOUT_MS} ms`)), HELLO_TIMEOUT_MS);
      const done = (): void => {
        clearTimeout(timer);
        worker.pause(); // the relay reads on
        worker.off('data', onData);
      };
      const onData = (chunk: Buffer): void => {
        const [line, ...more] = reader.push(chunk);
        if (line === undefined) return;
        done();
        for (const item of more) if (typeof item === 'string') rest.push(item);
        if (typeof line === 'string') resolve(line);
        else reject(unavailable(line.message));
      };
      worker.on('data', onData);
      worker.once('error', (error: NodeJS.ErrnoException) => {
        done();
        reject(unavailable(error.code === 'ENOENT' || error.code === 'ECONNREFUSED' ? 'its worker has no console socket (it is starting or exiting)' : error.message));
      });
      worker.once('close', () => {
        done();
        reject(unavailable('its worker closed the connection'));
      });
      worker.write(`${JSON.stringify(hello)}\n`);
    });
    const reply = JSON.parse(first) as { attached?: boolean; refused?: string };
    if (reply.attached !== true) throw new CommandError('INVALID_STATE', reply.refused ?? `VM "${vm}": its worker refused the console`);
  } catch (error) {
    worker.destroy();
    throw error;
  }
  worker.removeAllListeners('close');
  worker.removeAllListeners('error');
  worker.on('error', () => {});
  return { worker, reader, rest };
}

/** Set by relay(): ends it at once, without an `end` line (the caller answers the request instead). */
interface Stopper {
  stop(): void;
}

/** Passes the worker's lines to the viewer until either side goes away, or `stopper.stop()`; the viewer hears why it ended. */
function relay(worker: net.Socket, reader: LineReader, first: string[], id: string | number, session: Session, stopper: Stopper): Promise<void> {
  return new Promise((resolve) => {
    let ended = false;
    const finish = (why: string | null): void => {
      if (ended) return;
      ended = true;
      if (why !== null) session.send({ v: PROTOCOL_VERSION, id, data: { end: why } });
      worker.destroy();
      resolve();
    };
    const pass = (line: string): void => {
      let data: unknown;
      try {
        data = JSON.parse(line);
      } catch {
        return;
      }
      if (!isConsoleData(data)) return;
      if ('end' in data) return finish(data.end);
      session.send({ v: PROTOCOL_VERSION, id, data });
      if (!session.ready && !worker.isPaused()) {
        worker.pause();
        void session.whenDrained().then(() => worker.resume());
      }
    };
    worker.on('data', (chunk: Buffer) => {
      for (const item of reader.push(chunk)) if (typeof item === 'string' && !ended) pass(item);
    });
    worker.on('close', () => finish('the console closed: the VM\'s worker went away'));
    session.onClose(() => finish(null));
    stopper.stop = () => finish(null);
    for (const line of first) if (!ended) pass(line);
    if (!ended && session.ready) worker.resume();
    else if (!ended) void session.whenDrained().then(() => worker.resume());
  });
}
