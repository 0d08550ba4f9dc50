/**
 * bhyve's keeper and what goes with it, on their own: the status the keeper records means what a
 * direct child's exit means; the keeper run with a real /bin/sh gives bhyve clean signals and
 * descriptors and records its end through signals; output files are followed, resumed and
 * truncated; the kernel locks; worker records parsed defensively.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { lockHolder, tryLockFile } from '../../src/shared/file-lock.js';
import { isProcessAlive } from '../../src/shared/process.js';
import { describeExit } from '../../workers/bhyve-exit.js';
import { TRUNCATE_AT, OutputFollower } from '../../workers/bhyve-output.js';
import { prepareBhyve, type BhyveProcess } from '../../workers/bhyve-process.js';
import { exitFromStatus, readExitRecord } from '../../workers/keeper.js';
import { parseBhyveRun, parseWorkerRecord, parseWorkerSpec } from '../../workers/records.js';
import { VmLog } from '../../workers/vm-log.js';
import { waitFor } from '../helpers/vmstated-env.js';

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmstated-keeper-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("the status a keeper records means what a direct child's exit means", () => {
  for (const code of [0, 1, 2, 3, 4, 64, 71, 7]) assert.deepEqual(exitFromStatus(code), describeExit(code, null));
  for (const signal of ['SIGABRT', 'SIGKILL', 'SIGTERM', 'SIGSEGV'] as const) {
    assert.deepEqual(exitFromStatus(128 + os.constants.signals[signal]), describeExit(null, signal));
  }
});

test('an exit record is taken only when it is whole and names the keeper asked about', (t) => {
  const file = path.join(tempDir(t), 'web.bhyve.exit');
  for (const [text, status] of [['123 1\n', 1], ['123 134\n', 134], ['124 1\n', null], ['123 1', null], ['123 \n', null], ['123 1\n4 2\n', null], ['123 999\n', null], ['', null]] as const) {
    fs.writeFileSync(file, text);
    assert.equal(readExitRecord(file, 123), status, JSON.stringify(text));
  }
  fs.rmSync(file);
  assert.equal(readExitRecord(file, 123), null);
});

/** A stand-in bhyve that shows what it got: its ignored signals, its descriptors, its pid. */
const INSPECTING_BHYVE = `#!/bin/sh
echo "pid $$"
grep '^SigIgn' /proc/$$/status
for fd in /proc/$$/fd/*; do echo "fd $(basename "$fd") $(readlink "$fd")"; done
echo "to stderr" >&2
exec sleep 30
`;

test('the keeper: bhyve gets only SIGPIPE ignored, the FIFO as stdin, its output files, nothing else; a signalled keeper still records bhyve\'s end', async (t) => {
  const dir = tempDir(t);
  const bhyve = path.join(dir, 'bhyve');
  fs.writeFileSync(bhyve, INSPECTING_BHYVE, { mode: 0o755 });
  const log = new VmLog(path.join(dir, 'web.log'));
  t.after(() => log.close());
  const pending = await prepareBhyve(bhyve, path.join(dir, 'web.generated'), { rundir: dir, name: 'web', log, onRunChange: () => {} });
  const keeperPid = pending.run().keeperPid!;
  t.after(() => [pending.pid, keeperPid].forEach((pid) => isProcessAlive(pid) && process.kill(pid, 'SIGKILL')));
  const process_: BhyveProcess = pending.go();
  await waitFor('bhyve to show what it got', () => (/to stderr/.test(fs.readFileSync(path.join(dir, 'web.bhyve.err'), 'utf8')) ? true : undefined));
  const shown = fs.readFileSync(path.join(dir, 'web.bhyve.out'), 'utf8');
  assert.match(shown, new RegExp(`^pid ${pending.pid}$`, 'm'), 'the pid the keeper reported is bhyve\'s');
  assert.match(shown, /^SigIgn:\s+0*1000$/m, 'SIGPIPE (13) only: TERM, INT and HUP keep their default actions');
  const fds = new Map([...shown.matchAll(/^fd (\d+) (.*)$/gm)].map(([, fd, target]) => [Number(fd), target!]));
  assert.deepEqual([0, 1, 2].map((fd) => fds.get(fd)), [path.join(dir, 'web.keeper'), path.join(dir, 'web.bhyve.out'), path.join(dir, 'web.bhyve.err')]);
  for (const [fd, target] of fds) {
    // Beyond 0-2: the stand-in shell's own script, or what this test process itself inherited.
    if (fd <= 2 || target === bhyve) continue;
    assert.ok(!target.includes(dir) && !target.startsWith('socket:'), `fd ${fd} (${target}) came from the keeper or the worker`);
  }

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.kill(keeperPid, signal);
  process.kill(pending.pid, 'SIGTERM');
  const exit = await process_.exited;
  assert.deepEqual(exit, describeExit(null, 'SIGTERM'), 'the keeper outlived the signals and recorded bhyve\'s own end');
  assert.equal(readExitRecord(path.join(dir, 'web.bhyve.exit'), keeperPid), 128 + os.constants.signals.SIGTERM);
  assert.deepEqual(process_.stderrTail(), ['to stderr']);
  assert.match(fs.readFileSync(log.file, 'utf8'), new RegExp(`bhyve\\[${pending.pid}\\]/stderr: to stderr`));
});

test('a cancelled launch starts nothing and records nothing', async (t) => {
  const dir = tempDir(t);
  const marker = path.join(dir, 'started');
  const bhyve = path.join(dir, 'bhyve');
  fs.writeFileSync(bhyve, `#!/bin/sh\n: > ${marker}\n`, { mode: 0o755 });
  const log = new VmLog(path.join(dir, 'web.log'));
  t.after(() => log.close());
  const pending = await prepareBhyve(bhyve, path.join(dir, 'web.generated'), { rundir: dir, name: 'web', log, onRunChange: () => {} });
  pending.cancel();
  await waitFor('the keeper to exit', () => (isProcessAlive(pending.run().keeperPid!) ? undefined : true));
  assert.equal(fs.existsSync(marker), false);
  assert.equal(fs.existsSync(path.join(dir, 'web.bhyve.exit')), false);
});

test('output is followed from an offset, resumed, and truncated once consumed and large', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'web.bhyve.out');
  const log = new VmLog(path.join(dir, 'web.log'));
  t.after(() => log.close());
  fs.writeFileSync(file, 'seen by a previous worker\nnot yet seen\n');
  const saves: boolean[] = [];
  const follower = new OutputFollower(file, 'bhyve[7]/stdout', log, { offset: 'seen by a previous worker\n'.length, keepTail: true, onProgress: (now) => saves.push(now) });
  follower.start();
  const big = 'x'.repeat(1000) + '\n';
  fs.appendFileSync(file, big.repeat(Math.ceil(TRUNCATE_AT / big.length)));
  await waitFor('the follower to truncate the consumed file', () => (fs.statSync(file).size === 0 ? true : undefined));
  assert.equal(follower.consumed, 0);
  assert.ok(saves.includes(true), 'the offset 0 was saved at once, before the truncation');
  fs.appendFileSync(file, 'after the truncation, no newline');
  follower.finish();
  const text = fs.readFileSync(log.file, 'utf8');
  assert.doesNotMatch(text, /seen by a previous worker/);
  assert.match(text, /bhyve\[7\]\/stdout: not yet seen\n/);
  // A megabyte at once is a flood to the VM log (workers/output-budget.ts): logged or counted, none lost unsaid.
  const logged = (text.match(/stdout: x{1000}\n/g)?.length ?? 0) + (text.match(/stdout: after the truncation, no newline\n/g)?.length ?? 0);
  const dropped = [...text.matchAll(/(\d+) lines \(\d+ bytes\) of bhyve\[7\]\/stdout dropped/g)].reduce((sum, [, lines]) => sum + Number(lines), 0);
  assert.equal(logged + dropped, Math.ceil(TRUNCATE_AT / big.length) + 1, 'every x line, and the last line after the truncation');
  assert.deepEqual(follower.lastLines().slice(-2), ['x'.repeat(1000), 'after the truncation, no newline']);
});

test('a lock is held by one process at a time, names its holder, and goes with its holder', async (t) => {
  const file = path.join(tempDir(t), 'web.lock');
  assert.equal(await lockHolder(file), undefined);
  const first = tryLockFile(file);
  assert.ok('lock' in first);
  assert.deepEqual(tryLockFile(file), { holder: process.pid });
  assert.equal(await lockHolder(file), process.pid);
  first.lock.release({ remove: true });
  assert.equal(fs.existsSync(file), false);
  assert.equal(await lockHolder(file), undefined);

  const holderScript = `import('${new URL('../../src/shared/file-lock.js', import.meta.url).href}').then(({ tryLockFile }) => { tryLockFile(${JSON.stringify(file)}); console.log('held'); setInterval(() => {}, 1000); });`;
  const holder = spawn(process.execPath, ['-e', holderScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => holder.kill('SIGKILL'));
  await new Promise((resolve) => holder.stdout.once('data', resolve));
  assert.deepEqual(tryLockFile(file), { holder: holder.pid });
  holder.kill('SIGKILL');
  await waitFor('the kernel to drop the dead holder\'s lock', async () => ((await lockHolder(file)) === undefined ? true : undefined));
  const after = tryLockFile(file);
  assert.ok('lock' in after, 'a lock file left by a crash blocks nothing');
  after.lock.release();
});

test('worker records and specs: hostile content is refused, never trusted in part', () => {
  const run = { bhyvePid: 10, bhyveStartedAt: 'Wed Dec  2 06:11:20 2026', keeperPid: 9, keeperStartedAt: null, argv: ['/usr/sbin/bhyve', '-k', 'f', 'web'], output: { stdout: 5, stderr: 0 } };
  assert.deepEqual(parseBhyveRun(run), run);
  for (const bad of [null, [], { ...run, bhyvePid: 0 }, { ...run, bhyvePid: '10' }, { ...run, keeperPid: -1 }, { ...run, argv: 'bhyve' }, { ...run, output: { stdout: -1, stderr: 0 } }, { ...run, bhyveStartedAt: 5 }]) {
    assert.equal(parseBhyveRun(bad), null, JSON.stringify(bad));
  }
  const record = { vm: 'web', workerPid: 8, bhyvePid: 10, run, socket: '/run/web.sock', startedAt: 'x', restartHistory: [1, 'two', 3] };
  assert.deepEqual(parseWorkerRecord(JSON.stringify(record)), { ...record, restartHistory: [1, 3] });
  assert.equal(parseWorkerRecord(JSON.stringify({ ...record, run: { ...run, bhyvePid: -5 }, bhyvePid: 11 }))?.run, null, 'a bad run is no run');
  for (const text of ['', 'null', '[]', '{"vm":"web"}', JSON.stringify({ ...record, workerPid: 1.5 }), '{'.repeat(10_000)]) {
    assert.equal(parseWorkerRecord(text), null, text.slice(0, 40));
  }
  assert.throws(() => parseWorkerSpec(JSON.stringify({ vm: { name: 'web' } }), 'web.spec.json'), /web\.spec\.json: not a worker spec: vm\.file is missing/);
});
