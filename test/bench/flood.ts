/**
 * Root's `status` under abuse of the control socket (issue #10): one unprivileged user holds (or
 * tries to hold) 1,000 idle connections, a second writes 100,000 `events` requests it never reads,
 * a third keeps 64 `status` requests in flight on each of 16 connections as fast as the daemon
 * answers. Meanwhile root asks `status` at the bench's pace; the p99 is the figure (target < 50 ms).
 * Needs root (setpriv switches to the unprivileged uids); elsewhere it records n/a.
 */
import fs from 'node:fs';
import type { ControlClient } from '../../src/protocol/client.js';
import { Hostile, NOBODY, reachableScripts } from '../security/hostile.js';
import { percentile } from './measure.js';

export interface FloodBenchContext {
  /** The directory holding the control socket: made reachable for the unprivileged users. */
  socketDir: string;
  sockpath: string;
  client: ControlClient;
  statusRoundTrips(client: ControlClient, more: (asked: number) => boolean): Promise<number[]>;
  record(key: string, label: string, value: number | null, unit: string, target?: string): void;
  pssKiB(pid: number): number | null;
  daemonPid: number;
}

const HOLDER = NOBODY;
const FLOODER = NOBODY - 1;
const STORMER = NOBODY - 2;
const ASKS = 500;

export async function benchStatusUnderFlood(ctx: FloodBenchContext): Promise<void> {
  if (process.getuid?.() !== 0) {
    ctx.record('statusP99FloodMs', 'status p99 under socket flood (needs root)', null, 'ms', '< 50');
    return;
  }
  fs.chmodSync(ctx.socketDir, 0o755);
  const scripts = reachableScripts();
  const hostiles: Hostile[] = [];
  try {
    const hold = Hostile.start(scripts.dir, HOLDER, 'hold', ctx.sockpath, 1000);
    hostiles.push(hold);
    const held = await hold.next<{ served: number; refused: number }>('served');
    const flood = Hostile.start(scripts.dir, FLOODER, 'flood', ctx.sockpath, 100_000);
    hostiles.push(flood);
    await flood.next('written');
    const storm = Hostile.start(scripts.dir, STORMER, 'storm', ctx.sockpath, 16);
    hostiles.push(storm);
    await storm.next('storming');
    const before = await storm.ask<{ answered: number }>('answered');
    const started = performance.now();
    const times = await ctx.statusRoundTrips(ctx.client, (asked) => asked < ASKS);
    const seconds = (performance.now() - started) / 1000;
    const after = await storm.ask<{ answered: number }>('answered');
    ctx.record('floodHeld', `  idle connections one user holds of 1000 tried (${held.refused} refused)`, held.served, '');
    ctx.record('floodStormPerSec', '  storm status replies answered a second', (after.answered - before.answered) / seconds, '/s');
    ctx.record('statusP50FloodMs', `status p50 under socket flood (${ASKS} asked)`, percentile(times, 50), 'ms');
    ctx.record('statusP99FloodMs', 'status p99 under socket flood', percentile(times, 99), 'ms', '< 50');
    const pss = ctx.pssKiB(ctx.daemonPid);
    ctx.record('registryPssFloodMB', '  registry PSS under the flood', pss === null ? null : pss / 1024, 'MB');
  } finally {
    for (const hostile of hostiles) hostile.stop();
    scripts.remove();
  }
}
