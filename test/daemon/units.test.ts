import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { VmConfig } from '../../src/config/types.js';
import { followLines, tailLines } from '../../src/daemon/log-tail.js';
import { humanLine } from '../../src/daemon/logger.js';
import { startTiers, tierDelayMs } from '../../src/daemon/order.js';
import { readPidfile, removePidfile, writePidfile } from '../../src/daemon/pidfile.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/vmstated-env.js';

const vm = (name: string, startorder: number, startdelay = 0): { config: VmConfig } => ({
  config: { name, startorder, startdelay } as VmConfig,
});

test('start tiers: ascending startorder, equal orders together; the pause is the tier\'s longest startdelay', () => {
  const tiers = startTiers([vm('web', 1), vm('db', 0, 2), vm('cache', 0, 0.5), vm('batch', 10)]);
  assert.deepEqual(tiers.map((tier) => tier.map((item) => item.config.name)), [['db', 'cache'], ['web'], ['batch']]);
  assert.equal(tierDelayMs(tiers[0]!), 2000);
  assert.equal(tierDelayMs(tiers[1]!), 0);
  assert.deepEqual(startTiers([]), []);
});

test('logs: the last N lines; following sees appended lines, a partial line once complete, and a rotated file', async (t) => {
  const dir = tempDir(t, 'vmstated-unit-');
  const file = path.join(dir, 'web.log');
  assert.deepEqual(await tailLines(file, 5), { lines: [], offset: 0 }, 'no log yet');
  fs.writeFileSync(file, 'one\ntwo\nthree\n');
  const tail = await tailLines(file, 2);
  assert.deepEqual(tail.lines, ['two', 'three']);
  assert.deepEqual((await tailLines(file, 0)).lines, []);

  const seen: string[] = [];
  const stop = followLines(file, tail.offset, (lines) => seen.push(...lines));
  t.after(stop);
  fs.appendFileSync(file, 'four\nfi');
  await waitFor('line four', () => (seen.includes('four') ? true : undefined), 5000);
  fs.appendFileSync(file, 've\n');
  await waitFor('line five, whole', () => (seen.includes('five') ? true : undefined), 5000);
  fs.renameSync(file, `${file}.0`);
  fs.writeFileSync(file, 'after rotation\n');
  await waitFor('the rotated log', () => (seen.includes('after rotation') ? true : undefined), 5000);
  assert.deepEqual(seen, ['four', 'five', 'after rotation']);
});

test('pidfile: written whole, read back, removed only by its owner', (t) => {
  const dir = tempDir(t, 'vmstated-unit-');
  const file = path.join(dir, 'vmstated.pid');
  writePidfile(file, 4242);
  assert.equal(fs.readFileSync(file, 'utf8'), '4242\n');
  assert.equal(fs.statSync(file).mode & 0o777, 0o644 & ~process.umask(), 'pidfile mode 0644 less the umask');
  assert.equal(readPidfile(file), 4242);
  writePidfile(file, 4343);
  assert.equal(readPidfile(file), 4343, 'an existing pidfile is replaced');
  writePidfile(file, 4242);
  assert.deepEqual(fs.readdirSync(dir), ['vmstated.pid'], 'no temporary file left');
  removePidfile(file, 1111);
  assert.equal(fs.existsSync(file), true, 'another process\'s pidfile stays');
  removePidfile(file, 4242);
  assert.equal(fs.existsSync(file), false);
  fs.writeFileSync(file, 'garbage\n');
  assert.equal(readPidfile(file), null);
});

test('foreground log lines are readable: time, level, message, fields', () => {
  const line = humanLine(JSON.stringify({ level: 50, time: Date.UTC(2026, 0, 2, 3, 4, 5), msg: 'web: failed', vm: 'web', failureReason: 'hook start_network exited 1' }));
  assert.equal(line, '2026-01-02T03:04:05.000Z ERROR web: failed vm=web failureReason="hook start_network exited 1"\n');
  assert.equal(humanLine('not json'), 'not json\n');
  const quiet = humanLine(JSON.stringify({ level: 30, time: 0, msg: 'reload requested', uid: 0, args: {}, added: [], vm: null, errors: 0 }));
  assert.equal(quiet, '1970-01-01T00:00:00.000Z INFO  reload requested uid=0 errors=0\n', 'empty fields are left out');
});
