import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VmConfig } from '../../src/config/types.js';
import { bareConfig, restingStatus, VmEntry } from '../../src/daemon/vm-entry.js';
import type { VmStatus } from '../../src/protocol/types.js';
import { vmStatus } from '../../src/protocol/vm-status.js';
import { STATUS_KEYS } from '../helpers/status-keys.js';


const config: VmConfig = {
  ...bareConfig('web', '/conf/web.conf'),
  owner: 'alice',
  description: 'the web server',
  os: 'freebsd',
  autostart: true,
};

const runtime = {
  state: 'running',
  pid: 4242,
  workerPid: 4200,
  restarts: 1,
  lastExit: null,
  failureReason: null,
  since: '2026-01-02T03:04:05.000Z',
  configPending: true,
} as const;

test('vmStatus: config fields from the config (absent ones null), the rest from the supervisor, in VmStatus order', () => {
  const status = vmStatus(config, runtime);
  assert.deepEqual(status, {
    ...runtime,
    name: 'web',
    owner: 'alice',
    group: null,
    description: 'the web server',
    os: 'freebsd',
    osversion: null,
    autostart: true,
    configFile: '/conf/web.conf',
  });
  assert.deepEqual(Object.keys(status), STATUS_KEYS);
  assert.notEqual(vmStatus(config, runtime), status, 'a new record each time: records are never changed in place');
});

test('restingStatus: no pids, keeps failure mode and its reason, else stopped; same field order', () => {
  const failed: VmStatus = { ...vmStatus(config, runtime), state: 'failed', failureReason: 'hook start_network exited 1' };
  const resting = restingStatus(config, failed);
  assert.deepEqual(Object.keys(resting), STATUS_KEYS);
  assert.equal(resting.state, 'failed');
  assert.equal(resting.failureReason, 'hook start_network exited 1');
  assert.equal(resting.pid, null);
  assert.equal(resting.workerPid, null);
  assert.equal(resting.since, runtime.since);
  assert.equal(resting.description, 'the web server');
  const stopped = restingStatus(config, vmStatus(config, runtime));
  assert.equal(stopped.state, 'stopped');
  assert.equal(stopped.failureReason, null);
  assert.equal(stopped.configPending, false);
});

test('VmEntry.statusJson follows each replaced status; the previous record is left as it was', () => {
  const entry = new VmEntry(config);
  const first = entry.status;
  const firstJson = entry.statusJson;
  assert.equal(firstJson, JSON.stringify(first));
  entry.setRestingState('failed', 'bhyve exited 4');
  assert.equal(first.state, 'stopped', 'not changed in place');
  assert.equal(JSON.parse(entry.statusJson).failureReason, 'bhyve exited 4');
  entry.status = vmStatus(config, runtime);
  assert.equal(entry.statusJson, JSON.stringify(vmStatus(config, runtime)));
});
