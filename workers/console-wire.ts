/**
 * The console socket of a VM worker, `<rundir>/<vm>.console` (mode 0600: root's, the daemon's):
 * one connection per viewer, JSON lines both ways. The daemon relays it to `vmstatedctl console`
 * (src/daemon/console-relay.ts); the `out`, `dropped` and `end` messages are passed on as they are
 * (vmstated(8), CONTROL PROTOCOL, console).
 *
 *   daemon -> worker  first line: {"history": LINES}        (history absent: the whole ring)
 *   worker -> daemon  first line: {"attached": true} or {"refused": "why"}
 *   worker -> daemon  {"out": "<base64>"}    bytes the guest printed (first the ring, then live)
 *                     {"dropped": N}         N bytes were not sent: the viewer did not keep up
 *                     {"end": "why"}         the console closes (the VM stopped, the worker exits)
 *   daemon -> worker  {"in": "<base64>"}     keystrokes for the guest
 *
 * Why a socket of its own and not Comlink (the worker's RPC link): the console is a continuous
 * byte stream in both directions, which needs per-viewer flow control and no added latency;
 * Comlink passes one message per call (the worker's events are a long poll), and a slow viewer
 * would share the link that carries the VM's lifecycle commands.
 */
import path from 'node:path';

/** Raw bytes per `out` line: base64 makes ~22 KiB of it, under the protocol's 64 KiB lines. */
export const CONSOLE_CHUNK_BYTES = 16 * 1024;

export function consoleSocketPath(rundir: string, vm: string): string {
  return path.join(rundir, `${vm}.console`);
}

export interface ConsoleHello {
  history?: number;
}

export type ConsoleReply = { attached: true } | { refused: string };

/** What the worker streams to a viewer; the daemon forwards these as `data` of the console request. */
export type ConsoleData = { out: string } | { dropped: number } | { end: string };

export function isConsoleData(value: unknown): value is ConsoleData {
  if (typeof value !== 'object' || value === null) return false;
  const data = value as Record<string, unknown>;
  return typeof data.out === 'string' || typeof data.dropped === 'number' || typeof data.end === 'string';
}
