/**
 * A guest and a hook that flood their output without ever printing a newline (issue #10, item 7:
 * such a console took a worker to 400-800 MB and none of it reached the VM log). Through the real
 * daemon, worker and simulator: the worker's memory stays bounded while it reads (measured from
 * /proc), the VM log holds 8 KiB pieces, marked when they continue a line, and a summary of what
 * was dropped, and the daemon answers throughout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { VmStatus } from '../../src/protocol/types.js';
import { MAX_PIECE_BYTES } from '../../workers/line-cutter.js';
import { createVmstatedEnv, waitFor } from '../helpers/vmstated-env.js';

const GUEST_BYTES = 64 * 1024 * 1024;
const HOOK_BYTES = 32 * 1024 * 1024;

function rssMiB(pid: number): number | undefined {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
  } catch {
    return undefined; // gone
  }
}

/** Bytes of `source`'s output in the log (its pieces' text) plus those its summaries say were dropped. */
function accounted(log: string, source: RegExp): { logged: number; dropped: number; pieces: number[] } {
  const pieces: number[] = [];
  let dropped = 0;
  for (const line of log.split('\n')) {
    const text = line.replace(/^\S+ /, '');
    const piece = new RegExp(`^${source.source}(?: \\(continued\\))?: `).exec(text);
    if (piece !== null) pieces.push(Buffer.byteLength(text) - piece[0].length);
    const summary = new RegExp(`^vmstated: \\d+ lines \\((\\d+) bytes\\) of ${source.source} dropped: output flood$`).exec(text);
    if (summary !== null) dropped += Number(summary[1]);
  }
  return { logged: pieces.reduce((sum, bytes) => sum + bytes, 0), dropped, pieces };
}

test('a hook and a guest that print megabytes without a newline: the worker stays small, the log holds 8 KiB pieces and the summaries, the daemon answers', { timeout: 90_000 }, async (t) => {
  const env = createVmstatedEnv('vmstated-floods-');
  t.after(() => env.destroy());
  env.writeVm('gush', {}, {
    hooks: { start_network: `head -c ${HOOK_BYTES} /dev/zero | tr '\\0' z` },
    bhyveLines: [`sim.flood_bytes=${GUEST_BYTES}`],
  });
  await env.startDaemon();
  const client = await env.client();
  t.after(() => client.close());

  let flooding = true;
  let statuses = 0;
  let workerRss = 0;
  const sampler = (async () => {
    while (flooding) {
      const [status] = await client.request<VmStatus[]>('status', { vm: 'gush' }, { timeoutMs: 10_000 });
      statuses += 1;
      if (status?.workerPid != null) workerRss = Math.max(workerRss, rssMiB(status.workerPid) ?? 0);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const { status } = await client.request<{ status: VmStatus }>('start', { vm: 'gush' }, { timeoutMs: 60_000 });
  assert.equal(status.state, 'running');
  const file = `${env.logdir}/gush.log`;
  const bhyve = new RegExp(`bhyve\\[${status.pid}\\]/stdout`);
  // The flood's last piece waits for a newline that never comes (the guest runs on): up to 8 KiB.
  const guest = await waitFor('the guest\'s flood to be logged or counted', () => {
    const counts = accounted(fs.readFileSync(file, 'utf8'), bhyve);
    return counts.logged + counts.dropped >= GUEST_BYTES - MAX_PIECE_BYTES ? counts : undefined;
  }, 30_000);
  flooding = false;
  await sampler;

  const log = fs.readFileSync(file, 'utf8');
  const hook = accounted(log, /hook start_network\/stdout/);
  assert.equal(hook.logged + hook.dropped, HOOK_BYTES, 'every byte of the hook is logged or counted');
  for (const { pieces } of [hook, guest]) {
    assert.ok(pieces.length > 1 && pieces.every((bytes) => bytes <= MAX_PIECE_BYTES), 'logged in pieces of at most 8 KiB');
  }
  assert.match(log, /Z bhyve\[\d+\]\/stdout \(continued\): flood-without-newline /, 'a piece that continues a line says so');
  assert.ok(guest.dropped > 0 && hook.dropped > 0, 'both floods are summarized');
  assert.ok(log.length < 4 * 1024 * 1024, `the log stays small (${log.length} bytes for ${(GUEST_BYTES + HOOK_BYTES) >> 20} MiB of output)`);
  t.diagnostic(`worker RSS at most ${workerRss.toFixed(1)} MiB; ${statuses} status replies during the floods; log ${log.length} bytes`);
  assert.ok(workerRss > 0 && workerRss < 100, `the worker's memory stays bounded (${workerRss.toFixed(1)} MiB)`);
  assert.ok(statuses > 0, 'the daemon answered during the floods');
});
