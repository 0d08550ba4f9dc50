/**
 * Failure mode from the outside (DESIGN.md section 3, failure row): bhyve that cannot be launched,
 * a hook past `hooktimeout`, a `failed` hook whose own failure is ignored. A daemon whose --bhyve
 * is not executable, with our sh bhyvectl stand-in; checked through vmstatedctl and the hooks' records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createVmstatedEnv, waitFor } from '../helpers/vmstated-env.js';
import { writeStandIns, type HookRecord } from './standins.js';
import { ctl, ctlLogs, ctlStatus } from './ctl.js';

const reasons = (records: HookRecord[]): string[] => records.map((record) => `${record.state}(${record.reason})`);

test('failure mode: unlaunchable bhyve, a hook past hooktimeout; cleanup hooks, failed hook, no bhyve', { concurrency: true, timeout: 90_000 }, async (t) => {
  const env = createVmstatedEnv('vmstated-e2e-fail-');
  t.after(() => env.destroy());
  const si = writeStandIns(env.dir);
  const unlaunchable = path.join(env.dir, 'bhyve-not-executable');
  fs.copyFileSync(si.bhyve, unlaunchable);
  fs.chmodSync(unlaunchable, 0o644);
  env.writeVm('nolaunch', {}, { hooks: si.allHooks({ failed: si.recordingHook('exit 9') }) });
  env.writeVm('slowhook', { hooktimeout: '500ms' }, { hooks: si.allHooks({ start_network: si.recordingHook('sleep 30') }) });
  await env.startDaemon(['--bhyve', unlaunchable, '--bhyvectl', si.bhyvectl]);

  const nolaunch = t.test('bhyve cannot be launched: failed, storage and network taken down, failed hook ran', async () => {
    const result = await ctl(env, 'start', 'nolaunch');
    assert.notEqual(result.status, 0, `start must fail: ${result.stdout}${result.stderr}`);
    await waitFor('the failed hook', () => (si.tokens('nolaunch').at(-1) === 'failed' ? true : undefined), 30_000);
    assert.deepEqual(si.tokens('nolaunch'), ['start_network', 'start_storage', 'destroy', 'stop_storage', 'stop_network', 'failed']);
    assert.deepEqual(reasons(si.hooks('nolaunch')).slice(2), ['stop_storage(failure)', 'stop_network(failure)', 'failed(failure)']);
    const status = await ctlStatus(env, 'nolaunch');
    assert.equal(status.state, 'failed', 'the failed hook exiting 9 changes nothing');
    assert.equal(status.pid, null);
    assert.match(status.failureReason ?? '', /bhyve/);
    assert.match(status.failureReason ?? '', /launch/);
    const log = await ctlLogs(env, 'nolaunch');
    assert.ok(log.some((line) => line.includes(unlaunchable)), 'the log names the bhyve that could not be run');
  });

  const slowhook = t.test('a hook past hooktimeout fails the start; stop_network runs', async () => {
    const started = Date.now();
    const result = await ctl(env, 'start', 'slowhook');
    assert.notEqual(result.status, 0, 'start must fail');
    assert.ok(Date.now() - started < 25_000, 'the 30 s hook was cut short');
    await waitFor('the failed hook', () => (si.tokens('slowhook').at(-1) === 'failed' ? true : undefined), 30_000);
    assert.deepEqual(si.tokens('slowhook'), ['start_network', 'destroy', 'stop_network', 'failed']);
    assert.deepEqual(reasons(si.hooks('slowhook')), ['start_network(start)', 'stop_network(failure)', 'failed(failure)']);
    const status = await ctlStatus(env, 'slowhook');
    assert.equal(status.state, 'failed');
    assert.match(status.failureReason ?? '', /start_network/);
    assert.match(status.failureReason ?? '', /time/);
  });

  await Promise.all([nolaunch, slowhook]);
});
