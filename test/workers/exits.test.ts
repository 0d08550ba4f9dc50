/** Reading bhyve's exits and stderr: vm_run error, the stderr tail, the failed-start reason, whose bhyve a process is. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyExit, describeExit, explainExit, VM_RUN_ERROR } from '../../workers/bhyve-exit.js';
import { onOurKernel } from '../../workers/foreign-instance.js';
import { LineTail } from '../../workers/line-tail.js';
import { failedStartReason } from '../../workers/settle.js';

test('exit 1 is a power-off, unless bhyve said "vm_run error" in the same run: then a crash', () => {
  const poweroff = describeExit(1, null);
  assert.equal(classifyExit(explainExit(poweroff, ['bhyve-sim: web: powered off (exit 1)'])), 'poweroff');
  const vmRun = explainExit(poweroff, ['vm_run error -1, errno 6', 'something after']);
  assert.deepEqual(vmRun, { code: 1, signal: null, meaning: VM_RUN_ERROR });
  assert.equal(classifyExit(vmRun), 'crash');
  assert.deepEqual(explainExit(describeExit(4, null), ['vm_run error -1, errno 6']), describeExit(4, null), 'only exit 1 is told apart');
});

test('the stderr tail keeps the last 20 lines, whole, across chunks; CR and floods are trimmed', () => {
  const tail = new LineTail();
  for (let n = 1; n <= 25; n++) tail.push(`line ${n}\r\n`);
  tail.push('split ');
  tail.push('line, no newline');
  const lines = tail.lines();
  assert.equal(lines.length, 20);
  assert.deepEqual([lines[0], lines[18], lines[19]], ['line 7', 'line 25', 'split line, no newline']);
  tail.push(`${'x'.repeat(5000)}\n`);
  assert.equal(tail.lines().at(-1)!.length, 1000);
});

test('a failed start says what ended it, when, and bhyve\'s last non-empty line', () => {
  assert.equal(failedStartReason('start', describeExit(4, null), 120, 1, ['first', 'virtual machine cannot be booted', '']),
    'start failed: bhyve exited with status 4 (error) 0.1 s after its launch, within the settle time of 1 s: virtual machine cannot be booted');
  assert.equal(failedStartReason('restart', describeExit(null, 'SIGKILL'), 2500, 3, []),
    'restart failed: bhyve was killed by SIGKILL 2.5 s after its launch, within the settle time of 3 s');
});

test('a bhyve runs on our kernel: a real one only on FreeBSD, a simulated one only of our state dir', () => {
  const entry = (args: string) => ({ pid: 1, ppid: 1, uid: 0, startedAt: '', args });
  assert.equal(onOurKernel(entry('bhyve: web (bhyve)'), 'aaaaaaaaaaaa', 'freebsd'), true);
  assert.equal(onOurKernel(entry('bhyve: web (bhyve)'), 'aaaaaaaaaaaa', 'linux'), false, 'no real bhyve outside FreeBSD');
  assert.equal(onOurKernel(entry('bhyve: web (bhyve-sim aaaaaaaaaaaa)'), 'aaaaaaaaaaaa', 'linux'), true);
  assert.equal(onOurKernel(entry('bhyve: web (bhyve-sim bbbbbbbbbbbb)'), 'aaaaaaaaaaaa', 'freebsd'), false, 'another state dir is another kernel');
});
