import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { VmStatus } from '../../src/protocol/types.js';
import { createVmstatedEnv, processesMentioning, waitFor } from '../helpers/vmstated-env.js';
import { isProcessAlive as isAlive } from '../../src/shared/process.js';

test('autostart by startorder tiers, then SIGTERM stops every VM in reverse order running its stop hooks', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  const journal = path.join(env.dir, 'journal');
  const record = `echo "$VMSTATED_VM $VMSTATED_STATE $VMSTATED_REASON" >> ${journal}`;
  const hooks = Object.fromEntries(['start_network', 'running', 'stopping', 'stop_network'].map((state) => [state, record]));
  env.writeVm('db1', { autostart: true, startorder: 0, startdelay: '300ms' }, { hooks });
  env.writeVm('db2', { autostart: true, startorder: 0 }, { hooks });
  env.writeVm('web', { autostart: true, startorder: 5 }, { hooks });
  env.writeVm('manual', { autostart: false }, { hooks });
  const daemon = await env.startDaemon();

  const statuses = await waitFor('every autostart VM to run', async () => {
    const client = await env.client();
    const all = await client.request<VmStatus[]>('status');
    client.close();
    return all.filter((s) => s.state === 'running').length === 3 ? all : undefined;
  });
  assert.equal(statuses.find((s) => s.name === 'manual')!.state, 'stopped');
  const lines = () => fs.readFileSync(journal, 'utf8').trim().split('\n');
  const started = lines();
  const at = (line: string): number => started.indexOf(line);
  assert.ok(at('web start_network start') > at('db1 running start'), started.join('\n'));
  assert.ok(at('web start_network start') > at('db2 running start'), started.join('\n'));
  assert.ok(!started.some((line) => line.startsWith('manual')));

  const bhyvePids = statuses.filter((s) => s.pid !== null).map((s) => s.pid!);
  assert.equal(bhyvePids.length, 3);
  process.kill(daemon, 'SIGTERM');
  process.kill(daemon, 'SIGTERM'); // a second signal does not cut the shutdown short
  await waitFor('the daemon to exit', () => (isAlive(daemon) ? undefined : true), 30_000);
  for (const pid of bhyvePids) assert.equal(isAlive(pid), false, `bhyve ${pid} is gone`);

  const stopped = lines().slice(started.length);
  for (const vm of ['db1', 'db2', 'web']) {
    assert.ok(stopped.includes(`${vm} stopping shutdown`), stopped.join('\n'));
    assert.ok(stopped.includes(`${vm} stop_network shutdown`), stopped.join('\n'));
  }
  const where = (line: string): number => stopped.indexOf(line);
  assert.ok(where('web stop_network shutdown') < where('db1 stopping shutdown'), 'web (startorder 5) stops before db1');
  assert.ok(where('web stop_network shutdown') < where('db2 stopping shutdown'), 'web (startorder 5) stops before db2');
  assert.ok(!stopped.some((line) => line.startsWith('manual')));
  assert.equal(fs.existsSync(env.pidfile), false);
  assert.deepEqual(fs.readdirSync(env.rundir).filter((f) => f.endsWith('.worker.json')), [], 'every worker exited');
  await waitFor('no process of this env left (no orphaned bhyve, worker or hook)', () => (processesMentioning(env.dir).length === 0 ? true : undefined), 5000);
});
