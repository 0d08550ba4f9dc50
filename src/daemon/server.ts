/**
 * The control socket (DESIGN.md section 6): JSON lines, several requests per connection, replies
 * by id. A client that sends garbage, too-long lines or bad UTF-8 gets error replies; one that
 * never reads is disconnected; neither affects another client or any VM. Connections and streams
 * are counted per user (connection-limits.ts), so no user can lock root out.
 */
import fs from 'node:fs';
import net from 'node:net';
import { getPeerCredentials } from '../auth/peercred.js';
import type { PeerCredentials } from '../auth/peercred.js';
import { errorReply, parseRequest } from '../protocol/request.js';
import type { ParseResult } from '../protocol/request.js';
import type { ErrorCode } from '../protocol/types.js';
import { ControlConnection, closeWithLimitError } from './connection.js';
import type { Session } from './connection.js';
import { ConnectionLimits, LimitError } from './connection-limits.js';
import type { ControlLimitValues, Release } from './connection-limits.js';
import type { Logger } from './logger.js';
import { ReplyBudget } from './reply-budget.js';
import { RequestPacer } from './request-pacer.js';

export type ParsedRequest = Extract<ParseResult, { ok: true }>['request'];
export type { Session } from './connection.js';

export type RequestHandler = (request: ParsedRequest, session: Session) => Promise<void>;

/** Refused connections that may wait for their peer to read why; beyond it they close at once. */
const MAX_LINGERING = 128;
/** A user's refusals are logged at most once per this long (a flood must not fill the log). */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

export class ControlServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly limits: ConnectionLimits;
  private readonly pacer: RequestPacer;
  private readonly replyBudget: ReplyBudget;
  private lingering = 0;
  private readonly lastRefusalLogged = new Map<number, number>();
  /** Told of each request refused before it reached the handler (the metrics count them). */
  onInvalid: (code: ErrorCode) => void = () => {};

  constructor(
    private readonly handle: RequestHandler,
    private readonly log: Logger,
    limits?: Readonly<ControlLimitValues>,
    replyBudgetBytesPerUser?: number,
  ) {
    this.limits = new ConnectionLimits(limits);
    this.replyBudget = new ReplyBudget(replyBudgetBytesPerUser);
    this.pacer = new RequestPacer(this.limits.values.requestsPerTurnPerUser);
    // Half-open: `printf '...' | nc -U` ends its side at once and still waits for the replies.
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
  }

  /** Binds the socket (its directory must exist) and makes it connectable by every user. */
  listen(sockpath: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(new Error(`cannot bind the control socket ${sockpath}: ${err.message}`));
      this.server.once('error', onError);
      this.server.listen(sockpath, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.log.error({ err }, 'control socket error'));
        try {
          // Authorization is by peer credentials, per request: everyone may connect.
          fs.chmodSync(sockpath, 0o666);
        } catch (err) {
          reject(new Error(`cannot make ${sockpath} world-writable: ${(err as Error).message}`));
          return;
        }
        resolve();
      });
    });
  }

  /** Stops accepting, ends every connection (replies already written still go out), then drops them. */
  close(graceMs = 500): Promise<void> {
    if (!this.server.listening) return Promise.resolve();
    for (const socket of this.sockets) socket.end();
    const timer = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, graceMs);
    return new Promise((resolve) =>
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      }),
    );
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => {}); // a peer that vanished: 'close' follows
    socket.on('close', () => this.sockets.delete(socket));
    let peer: PeerCredentials;
    try {
      peer = getPeerCredentials(socket);
    } catch (err) {
      this.log.warn({ err }, 'cannot read peer credentials; closing the connection');
      socket.end(JSON.stringify(errorReply(null, 'FORBIDDEN', `cannot read your credentials: ${(err as Error).message}`)) + '\n');
      return;
    }
    // The user the daemon runs as administers it (root in production; the developer in the demo).
    if (peer.uid === process.geteuid?.()) peer = { ...peer, uid: 0 };
    let release: Release;
    try {
      release = this.limits.admitConnection(peer.uid);
    } catch (err) {
      if (!(err instanceof LimitError)) throw err;
      this.refuse(socket, peer, err.message);
      return;
    }
    socket.on('close', release);
    const { uid } = peer;
    new ControlConnection(socket, peer, {
      maxRequests: this.limits.values.maxRequestsPerConnection,
      idleTimeoutMs: this.limits.values.idleTimeoutMs,
      dispatch: (line, session) => this.dispatch(line, session),
      mayStart: (resume) => this.pacer.mayStart(uid, resume),
      openStream: () => this.limits.openStream(uid),
      claimReplyBudget: (bytesBeingRead) => this.replyBudget.claim(uid, bytesBeingRead),
      replies: this.replyBudget.account(uid),
      onOverflow: (queued) => this.log.warn({ uid, queued }, 'client does not read its replies; connection closed'),
    });
  }

  /** Bytes of replies not yet taken by the kernel plus log reads under way, of every user together. */
  get unreadReplyBytes(): number {
    return this.replyBudget.totalBytes;
  }

  /** Writes why and closes; waits a moment for the peer to read it unless many refused ones wait already. */
  private refuse(socket: net.Socket, peer: PeerCredentials, message: string): void {
    this.logRefusal(peer.uid, `connection refused: ${message}`);
    const linger = this.lingering < MAX_LINGERING;
    if (linger) {
      this.lingering += 1;
      socket.once('close', () => (this.lingering -= 1));
    }
    closeWithLimitError(socket, `connection refused: ${message}`, linger);
  }

  private logRefusal(uid: number, refusal: string): void {
    const now = Date.now();
    if (now - (this.lastRefusalLogged.get(uid) ?? -Infinity) < REFUSAL_LOG_INTERVAL_MS) return;
    this.lastRefusalLogged.set(uid, now);
    this.log.warn({ uid }, `${refusal} (further refusals of this user in the next minute are not logged)`);
  }

  private async dispatch(line: string, session: Session): Promise<void> {
    const parsed = parseRequest(line);
    if (!parsed.ok) {
      this.onInvalid(parsed.reply.error.code);
      session.send(parsed.reply);
      return;
    }
    const { request } = parsed;
    // Keystrokes (passwords typed on a console) are never logged.
    if (request.cmd !== 'console-input') this.log.debug({ uid: session.peer.uid, id: request.id, cmd: request.cmd, args: request.args }, 'request');
    try {
      await this.handle(request, session);
    } catch (err) {
      const what = `request ${JSON.stringify(request.id)} (${request.cmd})`;
      if (err instanceof LimitError) {
        this.logRefusal(session.peer.uid, `${what} refused: ${err.message}`);
        session.send(errorReply(request.id, err.code, `${what}: ${err.message}`));
        return;
      }
      this.log.error({ err, id: request.id, cmd: request.cmd }, 'request failed');
      session.send(errorReply(request.id, 'INTERNAL', `${what} failed: ${(err as Error).message}`));
    }
  }
}
