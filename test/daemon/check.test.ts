import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createVmstatedEnv } from '../helpers/vmstated-env.js';

test('vmstated -n exits 0 on good configs and 1 with file:line:column on a bad one', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('good', { autostart: true, cpus: 2 });

  const clean = await env.runVmstated(['-n']);
  assert.equal(clean.status, 0, clean.stderr);
  assert.equal(clean.stderr, '');
  assert.equal(fs.existsSync(env.sockpath), false, '-n does not start the daemon');

  const badDir = env.writeVm('bad', { cpus: 'many' });
  const broken = await env.runVmstated(['-n']);
  assert.equal(broken.status, 1);
  const configFile = path.join(badDir, 'config');
  assert.match(broken.stderr, new RegExp(`^${configFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: error: .+`, 'm'));
  assert.doesNotMatch(broken.stderr, /good/, 'the good VM has nothing to report');
});

test('vmstated -n on a missing config directory exits 1 naming it', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  const result = await env.runVmstated(['-n', '-c', path.join(env.dir, 'nowhere')]);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /nowhere/);
});
