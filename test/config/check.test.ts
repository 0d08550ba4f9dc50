/** `vmstated -n`'s check and the problem format. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { checkConfigDir } from '../../src/config/check.js';
import { formatProblem } from '../../src/config/format.js';
import { tempDir, writeVm } from './helpers.js';

test('a problem prints as file:line:column: severity: message', () => {
  assert.equal(formatProblem({ severity: 'error', file: '/c/vm/config', line: 3, column: 12, message: 'bad', kind: 'invalid value' }),
    '/c/vm/config:3:12: error: bad');
  assert.equal(formatProblem({ severity: 'warning', file: '/c/vm/config', line: 1, column: 1, message: 'odd', kind: 'invalid value' }),
    '/c/vm/config:1:1: warning: odd');
  assert.equal(formatProblem({ severity: 'warning', file: '/c/vm/start_network', line: 0, column: 0, message: 'chmod', kind: 'invalid value' }),
    '/c/vm/start_network: warning: chmod');
});

test('the check counts errors and prints every problem', async (t) => {
  const configdir = tempDir(t);
  writeVm(configdir, 'a', 'a {\n    configfile = bhyve_config;\n    cpus = "two";\n}\n');
  writeVm(configdir, 'b', 'b {\n    configfile = bhyve_config;\n    colour = blue;\n}\n');
  const check = await checkConfigDir(configdir);
  assert.equal(check.errorCount, 1);
  assert.equal(check.warningCount, 1);
  assert.deepEqual(check.vms.map((vm) => vm.name), ['b']);
  assert.equal(check.text,
    `${path.join(configdir, 'a', 'config')}:3:12: error: cpus must be an integer from 1 to 65535, not the string "two"\n` +
    `${path.join(configdir, 'b', 'config')}:3:5: warning: unknown key colour is ignored\n`);
  assert.equal(check.summary, '1 VM ok, 1 rejected; 1 error, 1 warning');
});

test('warnings alone are not errors', async (t) => {
  const configdir = tempDir(t);
  writeVm(configdir, 'b', 'b { configfile = bhyve_config; colour = blue; }\n');
  const check = await checkConfigDir(configdir);
  assert.equal(check.errorCount, 0);
  assert.equal(check.problems.length, 1);
});

test('the check of a missing directory throws, naming it', async (t) => {
  const missing = path.join(tempDir(t), 'missing');
  await assert.rejects(checkConfigDir(missing), new RegExp(missing));
});
