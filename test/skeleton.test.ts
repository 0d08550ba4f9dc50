import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VM_STATES } from '../src/protocol/types.js';

test('the protocol names every lifecycle state of DESIGN.md section 3', () => {
  assert.deepEqual([...VM_STATES], [
    'stopped', 'start_network', 'start_storage', 'running', 'restarting',
    'restarted', 'stopping', 'stop_storage', 'stop_network', 'failed',
  ]);
});
