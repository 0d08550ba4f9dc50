/** The VM log: content, format, append, reopen (call and SIGHUP), write errors. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { VmFixture, recordingHook, until } from './harness.js';

const LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (vmstated|bhyvectl|bhyve\[\d+\]\/(stdout|stderr)|hook [a-z_]+\/(stdout|stderr)): /;

test('the log: every line timestamped with its source; output verbatim; transitions, hooks, launch, exit', async (t) => {
  const vm = new VmFixture(t, {
    plan: ['exit:0:0.2', 'run'],
    hooks: {
      start_network: recordingHook(`printf '  indented\\tline\\n' ; echo "to stderr" >&2 ; printf 'no newline at the end'`),
    },
  });
  fs.mkdirSync(vm.logdir);
  const logFile = path.join(vm.logdir, 'web.log');
  fs.writeFileSync(logFile, 'an older line that must stay\n');
  const api = await vm.spawn();
  await api.start();
  await vm.waitForState('running', 10_000, 2);
  await vm.guestReady();
  await api.stop();
  const text = vm.logText();
  const lines = text.split('\n').slice(0, -1);
  assert.equal(lines[0], 'an older line that must stay', 'appended, never truncated');
  for (const line of lines.slice(1)) assert.match(line, LINE);
  assert.match(text, /Z hook start_network\/stdout:   indented\tline\n/);
  assert.match(text, /Z hook start_network\/stderr: to stderr\n/);
  assert.match(text, /Z hook start_network\/stdout: no newline at the end\n/);
  assert.match(text, /Z vmstated: hook start_network succeeded: exit 0 in \d+ ms\n/);
  assert.match(text, /Z vmstated: state stopped -> start_network \(reason start\)\n/);
  assert.match(text, /Z vmstated: state running -> restarting \(reason reboot\)\n/);
  const [first, second] = vm.bhyvePids();
  assert.match(text, new RegExp(`Z vmstated: launched bhyve pid ${first} \\(start\\): ${vm.bhyve} -k ${vm.vm.configfile}.generated web\\n`));
  assert.match(text, new RegExp(`Z bhyve\\[${first}\\]/stdout: stand-in bhyve launch 1: -k \\S+ web\\n`));
  assert.match(text, new RegExp(`Z bhyve\\[${first}\\]/stderr: plan exit:0:0.2\\n`));
  assert.match(text, new RegExp(`Z vmstated: bhyve pid ${first} exited: code 0 \\(reboot\\)\\n`));
  assert.match(text, new RegExp(`Z vmstated: bhyve pid ${second} exited: code 1 \\(powered off\\)\\n`));
  assert.ok(text.indexOf(`bhyve[${second}]/stdout: ACPI power button`) < text.indexOf(`bhyve pid ${second} exited`), "bhyve's last words come before its exit line");
  assert.match(text, /Z vmstated: state stop_network -> stopped \(reason stop\)\n$/);
});

test('reopenLog() and SIGHUP start a new file after rotation; nothing is lost', async (t) => {
  const vm = new VmFixture(t);
  const api = await vm.spawn();
  const logFile = path.join(vm.logdir, 'web.log');
  await api.start();
  fs.renameSync(logFile, `${logFile}.0`);
  await api.reopenLog();
  await vm.guestReady();
  await api.stop();
  assert.match(fs.readFileSync(`${logFile}.0`, 'utf8'), /-> running/);
  assert.match(fs.readFileSync(logFile, 'utf8'), /running -> stopping/);
  assert.doesNotMatch(fs.readFileSync(logFile, 'utf8'), /-> start_network/);

  fs.renameSync(logFile, `${logFile}.1`);
  process.kill(vm.workerPid as number, 'SIGHUP');
  await until(() => fs.existsSync(logFile), 6_000, 'SIGHUP to reopen the log');
  await api.start();
  assert.match(fs.readFileSync(logFile, 'utf8'), /stopped -> start_network/);
  assert.doesNotMatch(fs.readFileSync(`${logFile}.1`, 'utf8'), /stopped -> start_network/);
});

test('a log that cannot be written is reported once, the VM keeps working, the lines come later', async (t) => {
  const vm = new VmFixture(t);
  const api = await vm.spawn();
  await api.start();
  await vm.guestReady();
  // the log directory is replaced by a plain file: reopening fails
  fs.renameSync(vm.logdir, `${vm.logdir}.old`);
  fs.writeFileSync(vm.logdir, 'not a directory');
  await api.reopenLog();
  const broken = await api.status();
  assert.match((broken as { logProblem?: string }).logProblem ?? '', /cannot write the VM log .*web\.log/);
  const restarted = await api.restart();
  assert.equal(restarted.ok, true, 'the VM is not affected');
  await api.reopenLog();
  const stderr = fs.readFileSync(path.join(vm.rundir, 'web.worker.err'), 'utf8');
  assert.equal(stderr.match(/cannot write the VM log/g)?.length, 1, 'reported once');

  fs.rmSync(vm.logdir);
  await api.reopenLog();
  assert.equal((await api.status() as { logProblem?: string }).logProblem, null);
  const text = fs.readFileSync(path.join(vm.logdir, 'web.log'), 'utf8');
  assert.match(text, /running -> restarting \(reason restart\)/, 'lines kept in memory meanwhile are written');
  const logEvents = (await vm.events()).flatMap((event) => (event.type === 'log' ? [event.problem] : []));
  assert.equal(logEvents.length, 2, 'one event when writing fails, one when it works again');
  assert.match(logEvents[0] ?? '', /cannot write the VM log .*web\.log/);
  assert.equal(logEvents[1], null);
});
