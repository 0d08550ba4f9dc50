import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { VmStatus } from '../../src/protocol/types.js';
import { createVmstatedEnv, waitFor } from '../helpers/vmstated-env.js';

type WithLogProblem = VmStatus & { logProblem?: string | null };

function mount(args: string[]): void {
  const result = spawnSync('mount', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`mount ${args.join(' ')}: ${result.stderr}`);
}

test('a full log filesystem (64 KiB tmpfs): VMs keep running, the problem shows in status, the kept lines are written whole once space returns', { timeout: 90_000 }, async (t) => {
  assert.equal(process.getuid?.(), 0, 'this test mounts a tmpfs and needs root, as the test suite runs here');
  const env = createVmstatedEnv('vmstated-logfull-');
  fs.mkdirSync(env.logdir);
  mount(['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', env.logdir]);
  t.after(async () => {
    await env.destroy().catch(() => {});
    spawnSync('umount', ['-l', env.logdir]);
    fs.rmSync(env.dir, { recursive: true, force: true });
  });
  env.writeVm('filler', {}, { bhyveLines: ['sim.flood=900'] });
  env.writeVm('quiet');
  await env.startDaemon();
  const client = await env.client();
  t.after(() => client.close());
  await client.request('start', { vm: 'quiet' });
  await client.request('start', { vm: 'filler' });

  const full = await env.waitForStatus('filler', (s) => Boolean((s as WithLogProblem).logProblem), 40_000) as WithLogProblem;
  assert.match(full.logProblem!, /cannot write the VM log .*filler\.log.*ENOSPC|no space/i);
  assert.equal(full.state, 'running', 'the VM keeps running');
  const { status: restarted } = await client.request<{ status: VmStatus }>('restart', { vm: 'quiet' });
  assert.equal(restarted.state, 'running', 'another VM can still be restarted while the disk is full');

  mount(['-o', 'remount,size=4m', env.logdir]);
  const { status: stopped } = await client.request<{ status: VmStatus }>('stop', { vm: 'filler' });
  assert.equal(stopped.state, 'stopped');
  const healed = await env.waitForStatus('filler', (s) => (s as WithLogProblem).logProblem === null, 15_000);
  assert.equal(healed.state, 'stopped');

  const log = await waitFor('the stop to reach the VM log', () => {
    const text = fs.readFileSync(path.join(env.logdir, 'filler.log'), 'utf8');
    return /stop_network -> stopped|-> stopped/.test(text) ? text : undefined;
  });
  assert.match(log, /console flood line 900 of 900/, 'console lines kept in memory while full were written later');
  const cut = log.split('\n').filter((line) => line !== '' && !/^\d{4}-\d\d-\d\dT[\d:.]+Z /.test(line));
  assert.deepEqual(cut.slice(0, 3), [], 'no line was cut in half by the full disk');
  const daemon = await client.request<VmStatus[]>('status');
  assert.equal(daemon.length, 2, 'the daemon answered throughout');
});
