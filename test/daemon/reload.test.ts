import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { ReloadSummary } from '../../src/daemon/reload.js';
import type { VmEvent, VmStatus } from '../../src/protocol/types.js';
import { createVmstatedEnv, waitFor } from '../helpers/vmstated-env.js';
import { isProcessAlive as isAlive } from '../../src/shared/process.js';

test('reload: new VMs appear (autostart ones start), changes apply at once or at the next start, broken configs keep the last good one, removed VMs stop and go', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('idle', { description: 'old' });
  env.writeVm('busy', { description: 'old' });
  env.writeVm('doomed');
  const daemon = await env.startDaemon();
  const client = await env.client();
  t.after(() => client.close());
  const busy = (await client.request<{ status: VmStatus }>('start', { vm: 'busy' })).status;
  const doomed = (await client.request<{ status: VmStatus }>('start', { vm: 'doomed' })).status;

  env.writeVm('idle', { description: 'new' });
  env.writeVm('busy', { description: 'new' });
  env.writeVm('fresh', { autostart: true });
  fs.rmSync(path.join(env.configdir, 'doomed'), { recursive: true });
  const summary = await client.request<ReloadSummary & { problems: unknown[] }>('reload');
  assert.deepEqual(summary.added, ['fresh']);
  assert.deepEqual(summary.removed, ['doomed']);
  assert.deepEqual(summary.changed.sort(), ['busy', 'idle']);
  assert.equal(summary.errors, 0);

  assert.equal((await env.status('idle')).description, 'new', 'a stopped VM takes the new config at once');
  const running = await env.status('busy');
  assert.equal(running.pid, busy.pid, 'a running VM is left running');
  assert.equal(running.configPending, true);
  await env.waitForStatus('fresh', (s) => s.state === 'running');
  await waitFor('the removed VM to go', async () => {
    const names = (await client.request<VmStatus[]>('status')).map((s) => s.name);
    return names.includes('doomed') ? undefined : true;
  });
  assert.equal(isAlive(doomed.pid!), false, 'the removed VM was stopped');

  // A broken config: the running instance is left alone with its last good config.
  fs.writeFileSync(path.join(env.configdir, 'busy', 'config'), 'busy { cpus = "lots"; configfile = bhyve_config; }\n');
  const broken = await client.request<ReloadSummary & { problems: Array<{ file: string; severity: string }> }>('reload');
  assert.deepEqual(broken.kept, ['busy']);
  assert.ok(broken.errors > 0);
  assert.ok(broken.problems.some((p) => p.severity === 'error' && p.file.endsWith(path.join('busy', 'config'))));
  const kept = await env.status('busy');
  assert.equal(kept.state, 'running');
  assert.equal(kept.pid, busy.pid);
  const problems = await client.request<unknown[]>('problems');
  assert.ok(problems.length > 0, 'config problems are visible over the socket');

  // The pending config applies at the next start (restart = stop + start of the last good config).
  env.writeVm('busy', { description: 'newer' });
  const events: VmEvent[] = [];
  const watcher = await env.client();
  t.after(() => watcher.close());
  void watcher.events((event) => events.push(event));
  process.kill(daemon, 'SIGHUP');
  await waitFor('the SIGHUP reload', () => (events.some((e) => e.type === 'config') ? true : undefined));
  await client.request('stop', { vm: 'busy' });
  const restarted = (await client.request<{ status: VmStatus }>('start', { vm: 'busy' })).status;
  assert.equal(restarted.description, 'newer');
  assert.equal(restarted.configPending, false);
});
