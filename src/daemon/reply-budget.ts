/**
 * What the daemon holds for one user's replies, across all of that user's connections: bytes
 * written for the user that the kernel has not taken yet, plus log reads under way (reserved at
 * their start, before the read allocates anything). While a user other than root is at its budget,
 * requests that produce bulk output are refused at once with LIMIT; what is already under way
 * still goes out, and each connection keeps its own cap (framing.ts), past which it is closed.
 *
 * Without it, one user with 64 connections of 32 unread `logs` requests each made the daemon hold
 * 300-475 MB: each connection was cut off only at 4 MiB unread, on top of its reads.
 */
import type { Command } from '../protocol/types.js';
import { LimitError } from './connection-limits.js';
import type { Release } from './connection-limits.js';

const MIB = 1024 * 1024;

/**
 * 16 MiB per user: four times what one connection may leave unread (4 MiB), so a user who reads
 * normally, with a few connections and a `logs` of the whole tail window (1 MiB) on each, never
 * meets it; and a host with a few dozen local users still holds only a few hundred MiB in the
 * worst case. Root is exempt: it is the administrator and its monitoring, whose `status` and
 * `metrics` must be answered exactly when other users misbehave; each of root's connections is
 * still held to its own cap. Root's bytes are counted (in the metrics) all the same.
 */
export const REPLY_BUDGET_BYTES_PER_USER = 16 * MIB;

/** The requests whose reply can be large, or that open a stream: refused while their user is at its budget. */
export const BULK_REPLY_COMMANDS: ReadonlySet<Command> = new Set<Command>(['status', 'top', 'metrics', 'problems', 'logs', 'events', 'console']);

/** Counts bytes of one connection's replies against its user's budget. */
export interface ReplyAccount {
  /** `bytes` were handed to the socket; `taken` when the kernel took them (or the socket was destroyed). */
  queued(bytes: number): void;
  taken(bytes: number): void;
}

export class ReplyBudget {
  private readonly bytesByUid = new Map<number, number>();
  private total = 0;

  constructor(readonly bytesPerUser: number = REPLY_BUDGET_BYTES_PER_USER) {}

  /** The account of one connection of `uid`. */
  account(uid: number): ReplyAccount {
    return {
      queued: (bytes) => this.add(uid, bytes),
      taken: (bytes) => this.add(uid, -bytes),
    };
  }

  /**
   * Throws LimitError when `uid` (not root) is at its budget; otherwise counts `bytesBeingRead`
   * against it until the returned function is called (a second call does nothing).
   */
  claim(uid: number, bytesBeingRead = 0): Release {
    if (uid !== 0 && this.bytesOf(uid) >= this.bytesPerUser) {
      throw new LimitError(`${formatBytes(this.bytesPerUser)} of replies to uid ${uid} wait unread; read them or close connections first`);
    }
    this.add(uid, bytesBeingRead);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.add(uid, -bytesBeingRead);
    };
  }

  bytesOf(uid: number): number {
    return this.bytesByUid.get(uid) ?? 0;
  }

  /** Every user's bytes together, root's included (the metric vmstated_unread_reply_bytes). */
  get totalBytes(): number {
    return this.total;
  }

  private add(uid: number, bytes: number): void {
    if (bytes === 0) return;
    this.total += bytes;
    const count = this.bytesOf(uid) + bytes;
    if (count === 0) this.bytesByUid.delete(uid);
    else this.bytesByUid.set(uid, count);
  }
}

function formatBytes(bytes: number): string {
  return bytes % MIB === 0 ? `${bytes / MIB} MiB` : `${bytes} bytes`;
}
