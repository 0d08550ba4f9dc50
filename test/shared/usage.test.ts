import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuPercent, parsePsCpuTime, parsePsOutput, psSampler, type ProcessSample } from '../../src/shared/usage.js';

// FreeBSD ps(1) prints `time` as "%ld:%02ld.%02ld" (minutes unbounded) and right-aligns the
// columns; these fixtures are shaped like `ps -o pid= -o rss= -o time= -p 1234,1240` output of a
// long-running bhyve (4 GiB guest) and its worker.
const FREEBSD_FIRST = ' 1234 4198400 1216:07.53\n 1240   48212    0:01.25\n';
const FREEBSD_TEN_SECONDS_LATER = ' 1234 4198412 1216:09.53\n 1240   48212    0:01.27\n';

test('FreeBSD ps CPU time M:SS.cc is minutes, seconds and centiseconds, minutes unbounded', () => {
  assert.equal(parsePsCpuTime('0:01.25'), 1.25);
  assert.equal(parsePsCpuTime('1216:07.53'), 1216 * 60 + 7.53);
  assert.equal(parsePsCpuTime('14594:59.99'), 14594 * 60 + 59.99);
  // The decimal point follows the locale in FreeBSD's ps; a comma must read the same.
  assert.equal(parsePsCpuTime('3:05,50'), 185.5);
});

test('procps-style [dd-]hh:mm:ss CPU times parse too', () => {
  assert.equal(parsePsCpuTime('01:02:03'), 3723);
  assert.equal(parsePsCpuTime('2-01:00:00'), 2 * 86400 + 3600);
  assert.equal(parsePsCpuTime('00:00'), 0);
});

test('malformed CPU times are rejected, not guessed', () => {
  for (const bad of ['', '1:60.00', 'abc', '1:2:3:4', '3-00:01', '-1:00.00']) {
    assert.equal(parsePsCpuTime(bad), null, bad);
  }
});

test('ps output rows: pid, RSS in KiB, CPU seconds; header and junk lines skipped', () => {
  const withHeader = '  PID     RSS       TIME\n' + FREEBSD_FIRST + 'ps: kill: 999: No such process\n';
  assert.deepEqual(parsePsOutput(withHeader), [
    { pid: 1234, rssKiB: 4198400, cpuSeconds: 1216 * 60 + 7.53 },
    { pid: 1240, rssKiB: 48212, cpuSeconds: 1.25 },
  ]);
});

test('a VM using 20 % of a core over 10 s reads 20 %, not 1216 % (the pidusage misreading)', () => {
  const [vmBefore] = parsePsOutput(FREEBSD_FIRST);
  const [vmAfter] = parsePsOutput(FREEBSD_TEN_SECONDS_LATER);
  const sample = (row: typeof vmBefore, takenAtMs: number): ProcessSample => ({
    pid: row!.pid,
    cpuSeconds: row!.cpuSeconds,
    rssBytes: row!.rssKiB * 1024,
    takenAtMs,
  });
  const percent = cpuPercent(sample(vmBefore, 0), sample(vmAfter, 10_000));
  assert.ok(percent !== null && Math.abs(percent - 20) < 1e-9, `got ${percent}`);
});

test('CPU % is unknown without two readings of the same pid', () => {
  const reading: ProcessSample = { pid: 1, cpuSeconds: 1, rssBytes: 1, takenAtMs: 0 };
  assert.equal(cpuPercent(undefined, reading), null);
  assert.equal(cpuPercent(reading, { ...reading, pid: 2, takenAtMs: 1000 }), null);
  assert.equal(cpuPercent(reading, reading), null);
});

test('the ps sampler asks ps for exactly the pids and columns it parses', async () => {
  const calls: string[][] = [];
  const outputs = [FREEBSD_FIRST, FREEBSD_TEN_SECONDS_LATER];
  const clock = [0, 0, 10_000, 10_000];
  const sampler = psSampler(
    async (args) => {
      calls.push(args);
      return outputs.shift()!;
    },
    () => clock.shift()!,
  );
  const first = await sampler.sample([1234, 1240]);
  const second = await sampler.sample([1234, 1240]);
  assert.deepEqual(calls[0], ['-o', 'pid=', '-o', 'rss=', '-o', 'time=', '-p', '1234,1240']);
  assert.equal(second.get(1234)!.rssBytes, 4198412 * 1024);
  const vm = cpuPercent(first.get(1234), second.get(1234))!;
  const worker = cpuPercent(first.get(1240), second.get(1240))!;
  assert.ok(Math.abs(vm - 20) < 1e-9, `vm ${vm}`);
  assert.ok(Math.abs(worker - 0.2) < 1e-9, `worker ${worker}`);
  assert.equal((await sampler.sample([])).size, 0);
  assert.equal(calls.length, 2, 'no ps run for an empty pid list');
});

test('the ps sampler reads this system\'s real ps for a live pid and skips a dead one', async () => {
  const sampler = psSampler();
  const deadPid = 2 ** 22 + 12345; // above Linux's and FreeBSD's pid_max
  const samples = await sampler.sample([process.pid, deadPid]);
  const own = samples.get(process.pid);
  assert.ok(own, 'own pid sampled');
  assert.ok(own.rssBytes > 1024 * 1024, `rss ${own.rssBytes}`);
  assert.ok(own.cpuSeconds >= 0);
  assert.equal(samples.has(deadPid), false);
});

test('this platform\'s sampler (pidusage on Linux, ps on FreeBSD) reports growing CPU time and RSS bytes', async () => {
  const { createUsageSampler } = await import('../../src/shared/usage.js');
  const sampler = await createUsageSampler();
  try {
    const first = (await sampler.sample([process.pid])).get(process.pid)!;
    const spinUntil = Date.now() + 100; // more than ps's 10 ms resolution
    while (Date.now() < spinUntil) {
      // burn CPU so the second reading is larger
    }
    const second = (await sampler.sample([process.pid])).get(process.pid)!;
    assert.ok(second.cpuSeconds > first.cpuSeconds, `${first.cpuSeconds} -> ${second.cpuSeconds}`);
    assert.ok(second.rssBytes > 1024 * 1024);
    assert.equal((await sampler.sample([2 ** 22 + 12345])).size, 0);
  } finally {
    sampler.close();
  }
});
