/** The errors a request handler turns into an error reply (commands.ts). */
import type { ErrorCode } from '../protocol/types.js';

/** A request that cannot be carried out, with the protocol's error code. */
export class CommandError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** A failed start: bhyve's last stderr lines, for the reply (ReplyError). */
    readonly bhyveStderr?: string[],
  ) {
    super(message);
  }
}

/**
 * A command ended while it waited on its VM, before it ran: a later stop or the daemon's shutdown
 * took its place. The registry logs one line for all it ends, so no caller logs its own.
 */
export class SupersededError extends CommandError {
  constructor(message: string) {
    super('INVALID_STATE', message);
  }
}
