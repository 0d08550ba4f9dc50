/**
 * What one user may hold on the control socket: connections and streams, counted per uid, so
 * that no local user can lock the others (and above all root) out of the daemon. Root (and the
 * user the daemon runs as, which the server maps to uid 0) is never held to a per-user limit and
 * has a reserve of connections the others together cannot take: root always gets in.
 *
 * The values for a host with many users and a few hundred VMs are in CONTROL_LIMITS; vmstated(8)
 * (CONTROL PROTOCOL, Limits) states them, and a test changes them only through the constructor.
 */

export interface ControlLimitValues {
  /** Connections of all users together, root's included. */
  maxConnections: number;
  /** Of maxConnections, this many only root may use. */
  rootReserve: number;
  /** Open connections of one user other than root. */
  maxConnectionsPerUser: number;
  /** Open streams (`events`, `logs -f`, `console`) of one user other than root. */
  maxStreamsPerUser: number;
  /** Requests of one connection being carried out at once; reading pauses beyond it. */
  maxRequestsPerConnection: number;
  /** Requests of one user other than root started before other connections are read again. */
  requestsPerTurnPerUser: number;
  /** A connection with no request in flight and no stream is closed after this long. */
  idleTimeoutMs: number;
}

export const CONTROL_LIMITS: Readonly<ControlLimitValues> = {
  maxConnections: 1024,
  rootReserve: 64,
  maxConnectionsPerUser: 64,
  maxStreamsPerUser: 32,
  maxRequestsPerConnection: 32,
  requestsPerTurnPerUser: 16,
  idleTimeoutMs: 60_000,
};

/** A request or connection refused by a limit: the protocol error `LIMIT`, with this message. */
export class LimitError extends Error {
  readonly code = 'LIMIT';
  constructor(message: string) {
    super(message);
    this.name = 'LimitError';
  }
}

/** Returns the slot; a second call does nothing. */
export type Release = () => void;

export class ConnectionLimits {
  private connections = 0;
  private readonly connectionsByUid = new Map<number, number>();
  private readonly streamsByUid = new Map<number, number>();

  constructor(readonly values: Readonly<ControlLimitValues> = CONTROL_LIMITS) {}

  /** Takes a connection slot for `uid`; throws LimitError when a limit is reached. */
  admitConnection(uid: number): Release {
    const { maxConnections, rootReserve, maxConnectionsPerUser } = this.values;
    if (this.connections >= maxConnections) {
      throw new LimitError(`too many connections: the limit is ${maxConnections} for all users together`);
    }
    if (uid !== 0) {
      const others = this.connections - (this.connectionsByUid.get(0) ?? 0);
      if (others >= maxConnections - rootReserve) {
        throw new LimitError(
          `too many connections: the limit is ${maxConnections - rootReserve} for all users but root (${rootReserve} are kept for root)`,
        );
      }
      if ((this.connectionsByUid.get(uid) ?? 0) >= maxConnectionsPerUser) {
        throw new LimitError(`too many connections of uid ${uid}: the limit is ${maxConnectionsPerUser} per user`);
      }
    }
    this.connections += 1;
    increment(this.connectionsByUid, uid, 1);
    return once(() => {
      this.connections -= 1;
      increment(this.connectionsByUid, uid, -1);
    });
  }

  /** Takes a stream slot for `uid`; throws LimitError when the user holds its limit of streams. */
  openStream(uid: number): Release {
    const { maxStreamsPerUser } = this.values;
    if (uid !== 0 && (this.streamsByUid.get(uid) ?? 0) >= maxStreamsPerUser) {
      throw new LimitError(`too many streams (events, logs -f, console) of uid ${uid}: the limit is ${maxStreamsPerUser} per user`);
    }
    increment(this.streamsByUid, uid, 1);
    return once(() => increment(this.streamsByUid, uid, -1));
  }

  /** Open connections in all (for tests and diagnostics). */
  get openConnections(): number {
    return this.connections;
  }
}

function increment(counts: Map<number, number>, uid: number, by: number): void {
  const count = (counts.get(uid) ?? 0) + by;
  if (count === 0) counts.delete(uid);
  else counts.set(uid, count);
}

function once(release: () => void): Release {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    release();
  };
}
