/**
 * `logs` with follow (vmstated(8), CONTROL PROTOCOL): the last lines, then each batch of new ones,
 * as `data` lines of the request, until the client closes the connection. If the peer may no
 * longer read the VM's log (a reload changed its owner or group, or removed it: stream-access.ts),
 * the stream ends at once with the error FORBIDDEN, the request's final reply.
 */
import { PROTOCOL_VERSION } from '../protocol/types.js';
import { followLines } from './log-tail.js';
import { CommandError } from './registry.js';
import type { Registry } from './registry.js';
import type { ParsedRequest, Session } from './server.js';
import { guardStream } from './stream-access.js';

export interface LogTail {
  lines: string[];
  /** Where in the file the tail ends: following starts there. */
  offset: number;
}

export async function followLog(registry: Registry, vm: string, file: string, tail: LogTail, request: ParsedRequest, session: Session): Promise<undefined> {
  const { id } = request;
  const releaseStream = session.openStream();
  const withdrawn = await new Promise<string | null>((resolve) => {
    let following = true;
    let stopFollowing = (): void => {};
    const end = (why: string | null): void => {
      if (!following) return;
      following = false;
      stopFollowing();
      guard.close();
      resolve(why);
    };
    const guard = guardStream(registry, { cmd: request.cmd, vm, peer: session.peer, withdraw: (why) => end(`VM "${vm}": ${why}`) });
    session.onClose(() => end(null));
    if (!guard.check()) return;
    session.send({ v: PROTOCOL_VERSION, id, data: { lines: tail.lines } });
    stopFollowing = followLines(file, tail.offset, (lines) => {
      // A read under way when the stream ended still delivers: nothing more goes out.
      if (following && !session.send({ v: PROTOCOL_VERSION, id, data: { lines } })) stopFollowing();
    }, () => session.ready);
  });
  releaseStream();
  if (withdrawn !== null) throw new CommandError('FORBIDDEN', withdrawn);
  return undefined;
}
