/**
 * The control socket (DESIGN.md section 6): JSON lines, several requests per connection, replies
 * by id. A client that sends garbage, too-long lines or bad UTF-8 gets error replies; one that
 * never reads is disconnected; neither affects another client or any VM.
 */
import fs from 'node:fs';
import net from 'node:net';
import { getPeerCredentials } from '../auth/peercred.js';
import type { PeerCredentials } from '../auth/peercred.js';
import { LineWriter, readLines } from '../protocol/framing.js';
import { errorReply, framingErrorReply, parseRequest } from '../protocol/request.js';
import type { ParseResult } from '../protocol/request.js';
import type { ErrorCode } from '../protocol/types.js';
import type { Logger } from './logger.js';

export type ParsedRequest = Extract<ParseResult, { ok: true }>['request'];

/** One client connection, as request handlers see it. */
export interface Session {
  readonly peer: PeerCredentials;
  /** Writes one message line; false once the connection is gone. */
  send(message: unknown): boolean;
  /** Called once when the connection closes (for streams to stop). */
  onClose(callback: () => void): void;
  readonly closed: boolean;
}

export type RequestHandler = (request: ParsedRequest, session: Session) => Promise<void>;

/** Connections beyond this are refused, so no client can use up the daemon's descriptors. */
const MAX_CONNECTIONS = 512;

export class ControlServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly handle: RequestHandler,
    private readonly log: Logger,
    /** Told of each request refused before it reached the handler (the metrics count them). */
    private readonly onInvalid: (code: ErrorCode) => void = () => {},
  ) {
    // Half-open: `printf '...' | nc -U` ends its side at once and still waits for the replies.
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
    this.server.maxConnections = MAX_CONNECTIONS;
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
    const closeCallbacks: Array<() => void> = [];
    let closed = false;
    socket.on('error', () => {}); // a peer that vanished: 'close' follows
    socket.on('close', () => {
      closed = true;
      this.sockets.delete(socket);
      for (const callback of closeCallbacks.splice(0)) callback();
    });
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
    const writer = new LineWriter(socket, {
      onOverflow: (queued) => this.log.warn({ uid: peer.uid, queued }, 'client does not read its replies; connection closed'),
    });
    const session: Session = {
      peer,
      send: (message) => writer.write(message),
      onClose: (callback) => (closed ? callback() : closeCallbacks.push(callback)),
      get closed() {
        return closed;
      },
    };
    // The peer ended its side: close ours once every request it sent has been answered.
    let inFlight = 0;
    let peerEnded = false;
    const settled = (): void => {
      inFlight -= 1;
      if (peerEnded && inFlight === 0) socket.end();
    };
    readLines(socket, {
      onLine: (line) => {
        inFlight += 1;
        void this.dispatch(line, session).finally(settled);
      },
      onError: (error) => {
        this.onInvalid('BAD_REQUEST');
        session.send(framingErrorReply(error.message));
      },
      onEnd: () => {
        peerEnded = true;
        if (inFlight === 0) socket.end();
      },
    });
  }

  private async dispatch(line: string, session: Session): Promise<void> {
    const parsed = parseRequest(line);
    if (!parsed.ok) {
      this.onInvalid(parsed.reply.error.code);
      session.send(parsed.reply);
      return;
    }
    const { request } = parsed;
    this.log.debug({ uid: session.peer.uid, id: request.id, cmd: request.cmd, args: request.args }, 'request');
    try {
      await this.handle(request, session);
    } catch (err) {
      this.log.error({ err, id: request.id, cmd: request.cmd }, 'request failed');
      const what = `request ${JSON.stringify(request.id)} (${request.cmd})`;
      session.send(errorReply(request.id, 'INTERNAL', `${what} failed: ${(err as Error).message}`));
    }
  }
}
