/** The registry's copy of a VM's status between two of its worker's statuses (src/daemon/vm-entry.ts statusAfter). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BhyveExit, VmStatus } from '../../src/protocol/types.js';
import { statusAfter } from '../../src/daemon/vm-entry.js';

const time = '2026-12-02T12:00:00.000Z';
const stopped = { name: 'web', state: 'stopped', pid: null, lastExit: null, failureReason: null, since: time } as unknown as VmStatus;

test('a VM is never shown running without its bhyve\'s pid: the launch brings it, the exit of that bhyve takes it away', () => {
  const launched = statusAfter(stopped, { type: 'launch', vm: 'web', pid: 42, time });
  const running = statusAfter(launched, { type: 'state', vm: 'web', state: 'running', previous: 'start_storage', reason: 'start', time });
  assert.deepEqual([running.state, running.pid], ['running', 42]);
  const exit = { code: 0, signal: null, meaning: 'reboot' } as unknown as BhyveExit;
  assert.equal(statusAfter(running, { type: 'exit', vm: 'web', pid: 41, exit, time }).pid, 42, 'another bhyve\'s exit changes nothing');
  const exited = statusAfter(running, { type: 'exit', vm: 'web', pid: 42, exit, time });
  assert.deepEqual([exited.pid, exited.lastExit], [null, exit]);
  assert.equal(statusAfter(exited, { type: 'log', vm: 'web', problem: null, time }), exited);
});
