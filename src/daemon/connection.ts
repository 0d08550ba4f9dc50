/**
 * One client connection of the control socket, as request handlers see it (a Session), with the
 * flow control that keeps one client from slowing the others: at most a few requests of a
 * connection are carried out at once, and reading pauses (the kernel's socket buffer fills and the
 * client's writes block) instead of queueing requests without end; a connection with nothing to
 * do is closed after the idle timeout.
 */
import type { Socket } from 'node:net';
import type { PeerCredentials } from '../auth/peercred.js';
import { LineWriter, encodeLine, readLines } from '../protocol/framing.js';
import { errorReply, framingErrorReply } from '../protocol/request.js';
import type { Release } from './connection-limits.js';
import type { ReplyAccount } from './reply-budget.js';

/** One client connection, as request handlers see it. */
export interface Session {
  readonly peer: PeerCredentials;
  /** Writes one message line; false once the connection is gone. */
  send(message: unknown): boolean;
  /** Called once when the connection closes (for streams to stop). */
  onClose(callback: () => void): void;
  /**
   * Counts a stream (`events`, `logs -f`, `console`) against the peer's limit; throws a
   * LimitError (reply code LIMIT) when the peer holds its limit already. The slot is freed by the
   * returned function or, at the latest, when the connection closes.
   */
  openStream(): Release;
  /**
   * Throws a LimitError when the peer's replies waiting unread are at its budget (reply-budget.ts);
   * otherwise counts `bytesBeingRead` (a log read under way) against the budget until released.
   */
  claimReplyBudget(bytesBeingRead?: number): Release;
  /** False while the peer has not taken what was sent (a stream should pause); see whenDrained(). */
  readonly ready: boolean;
  whenDrained(): Promise<void>;
  readonly closed: boolean;
}

export interface ConnectionOptions {
  /** Requests carried out at once; more wait, and reading pauses. */
  maxRequests: number;
  idleTimeoutMs: number;
  /** Carries out one request line. */
  dispatch(line: string, session: Session): Promise<void>;
  /** Whether a request may start in this turn; if not, `resume` is called in the next (RequestPacer). */
  mayStart(resume: () => void): boolean;
  /** Takes a stream slot of this peer (throws LimitError). */
  openStream(): Release;
  /** See Session.claimReplyBudget. */
  claimReplyBudget(bytesBeingRead?: number): Release;
  /** Counts what is written to this connection against the peer's reply budget. */
  replies: ReplyAccount;
  /** The peer stopped reading its replies; the connection was closed. */
  onOverflow(queuedBytes: number): void;
}

/** How long a connection closed with an error line waits for its peer to read it and hang up. */
const LINGER_MS = 2_000;

/**
 * Writes one error line (id null, code LIMIT) and closes: the peer can read why, then the
 * connection goes at the latest LINGER_MS later. What the peer still sends is discarded: closing
 * at once with its request unread would show it a reset connection instead of the reason.
 */
export function closeWithLimitError(socket: Socket, message: string, linger = true): void {
  socket.removeAllListeners('data');
  socket.end(encodeLine(errorReply(null, 'LIMIT', message)));
  if (!linger) {
    socket.destroy();
    return;
  }
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('end', () => socket.destroy());
  socket.once('close', () => clearTimeout(timer));
}

export class ControlConnection implements Session {
  private readonly writer: LineWriter;
  private readonly closeCallbacks: Array<() => void> = [];
  /** Lines read but not started yet: at most what one chunk of the socket held. */
  private readonly waiting: string[] = [];
  private inFlight = 0;
  private streams = 0;
  private peerEnded = false;
  private closing = false;
  private isClosed = false;
  private readonly idleTimer: NodeJS.Timeout;
  private readonly resume = (): void => this.startWaiting();

  constructor(
    private readonly socket: Socket,
    readonly peer: PeerCredentials,
    private readonly options: ConnectionOptions,
  ) {
    this.writer = new LineWriter(socket, { onOverflow: options.onOverflow, account: options.replies });
    socket.on('close', () => this.onSocketClose());
    readLines(socket, {
      onLine: (line) => this.receive(line),
      onError: (error) => this.send(framingErrorReply(error.message)),
      onEnd: () => {
        this.peerEnded = true;
        this.endIfDone();
      },
    });
    this.idleTimer = setTimeout(() => this.onIdleTimeout(), options.idleTimeoutMs);
    this.idleTimer.unref();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send(message: unknown): boolean {
    return this.writer.write(message);
  }

  get ready(): boolean {
    return this.writer.ready;
  }

  whenDrained(): Promise<void> {
    return this.writer.whenDrained();
  }

  onClose(callback: () => void): void {
    if (this.isClosed) callback();
    else this.closeCallbacks.push(callback);
  }

  openStream(): Release {
    const release = this.options.openStream();
    this.streams += 1;
    let released = false;
    const done = (): void => {
      if (released) return;
      released = true;
      release();
      this.streams -= 1;
      this.armIdleTimerIfIdle();
    };
    this.onClose(done);
    return done;
  }

  claimReplyBudget(bytesBeingRead?: number): Release {
    return this.options.claimReplyBudget(bytesBeingRead);
  }

  private receive(line: string): void {
    if (this.closing) return;
    this.waiting.push(line);
    this.startWaiting();
  }

  /** Starts waiting requests up to the limits; reading pauses while any must wait. */
  private startWaiting(): void {
    while (this.waiting.length > 0 && this.inFlight < this.options.maxRequests && !this.isClosed) {
      if (!this.options.mayStart(this.resume)) break;
      const line = this.waiting.shift() as string;
      this.inFlight += 1;
      void this.options.dispatch(line, this).finally(() => this.settled());
    }
    if (this.waiting.length > 0) this.socket.pause();
    else if (!this.isClosed) this.socket.resume();
  }

  private settled(): void {
    this.inFlight -= 1;
    this.startWaiting();
    this.armIdleTimerIfIdle();
    this.endIfDone();
  }

  /** The peer ended its side: close ours once every request it sent has been answered. */
  private endIfDone(): void {
    if (this.peerEnded && this.inFlight === 0 && this.waiting.length === 0) this.socket.end();
  }

  private get idle(): boolean {
    return this.inFlight === 0 && this.streams === 0 && this.waiting.length === 0;
  }

  private armIdleTimerIfIdle(): void {
    if (this.idle && !this.isClosed) this.idleTimer.refresh();
  }

  private onIdleTimeout(): void {
    // A request or stream came since the timer was armed: it is armed again once they end.
    if (!this.idle || this.isClosed || this.closing) return;
    this.closing = true;
    const seconds = this.options.idleTimeoutMs / 1000;
    closeWithLimitError(this.socket, `connection closed: no request for ${seconds} s (the idle timeout is ${seconds} s)`);
  }

  private onSocketClose(): void {
    this.isClosed = true;
    this.waiting.length = 0;
    clearTimeout(this.idleTimer);
    for (const callback of this.closeCallbacks.splice(0)) callback();
  }
}
