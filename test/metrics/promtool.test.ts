/** The shipped alert rules pass `promtool check rules`, and each alert its unit tests (promtool test rules). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { RULES_FILE, RULES_TESTS, prometheusProgram, runProgram } from './tools.js';

test('the alert rules are valid and every alert passes its promtool unit tests', async (t) => {
  const promtool = prometheusProgram(t, 'promtool');
  if (promtool === null) return;
  const check = await runProgram(promtool, ['check', 'rules', RULES_FILE]);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /SUCCESS: 5 rules found/);
  const unit = await runProgram(promtool, ['test', 'rules', path.basename(RULES_TESTS)], { cwd: path.dirname(RULES_TESTS) });
  assert.equal(unit.status, 0, unit.stdout + unit.stderr);
  for (const alert of ['VmstatedVmFailed', 'VmstatedVmRestartStorm', 'VmstatedHookFailed', 'VmstatedConfigErrors', 'VmstatedAutostartVmNotRunning']) {
    assert.match(await readTests(), new RegExp(`alertname: ${alert}\\n`), `${alert} has a unit test`);
  }
});

async function readTests(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(RULES_TESTS, 'utf8');
}
