/** The worker's small parts, without processes: exit meanings, restart window, event feed, mailbox. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyExit, describeExit } from '../../workers/bhyve-exit.js';
import { EventFeed } from '../../workers/event-feed.js';
import { Mailbox } from '../../workers/mailbox.js';
import { RestartWindow } from '../../workers/restart-window.js';

test('bhyve exit statuses mean what DESIGN.md section 5 says, and lead where section 3 says', () => {
  const cases: [number | null, string | null, string, string][] = [
    [0, null, 'reboot', 'reboot'],
    [1, null, 'powered off', 'poweroff'],
    [2, null, 'halted', 'poweroff'],
    [3, null, 'triple fault', 'crash'],
    [4, null, 'error', 'crash'],
    [64, null, 'usage error', 'crash'],
    [71, null, 'operating system error', 'crash'],
    [5, null, 'unexpected exit code 5', 'crash'],
    [null, 'SIGABRT', 'emulation aborted (killed by SIGABRT)', 'crash'],
    [null, 'SIGKILL', 'killed by SIGKILL', 'crash'],
  ];
  for (const [code, signal, meaning, kind] of cases) {
    const exit = describeExit(code, signal);
    assert.deepEqual(exit, { code, signal, meaning });
    assert.equal(classifyExit(exit), kind, `${code ?? signal}`);
  }
});

test("restart window: the man page's example, maxrestart 3 within 10 s: the 4th restart fails", () => {
  const window = new RestartWindow(3, 10);
  const start = 1_000_000;
  assert.equal(window.tryRecord(start), true);
  assert.equal(window.tryRecord(start + 1_000), true);
  assert.equal(window.tryRecord(start + 2_000), true);
  assert.equal(window.tryRecord(start + 3_000), false);
  assert.equal(window.count(start + 3_000), 3, 'a refused restart is not recorded');
  // once the first leaves the window, one more is allowed
  assert.equal(window.tryRecord(start + 10_001), true);
  assert.deepEqual(window.snapshot(start + 10_001), [start + 1_000, start + 2_000, start + 10_001]);
  window.clear();
  assert.equal(window.count(start + 10_001), 0);
  const carried = new RestartWindow(1, 30, [start]);
  assert.equal(carried.tryRecord(start + 5_000), false, 'history handed over from a previous worker counts');
});

test('event feed: long poll wakes on a new event, times out empty, numbers events', async () => {
  const feed = new EventFeed();
  const event = { type: 'launch' as const, vm: 'web', pid: 1, time: 'now' };
  const waiting = feed.since(0, 5_000);
  feed.push(event);
  assert.deepEqual(await waiting, { seq: 1, events: [event] });
  const before = Date.now();
  assert.deepEqual(await feed.since(1, 50), { seq: 1, events: [] });
  assert.ok(Date.now() - before >= 45);
  feed.push({ ...event, pid: 2 });
  assert.deepEqual((await feed.since(0, 0)).events.map((entry) => entry.type === 'launch' && entry.pid), [1, 2]);
  assert.deepEqual((await feed.since(99, 0)).seq, 2, 'a sequence number from an earlier worker starts over');
});

test('mailbox: jobs run one at a time in order, a failing job does not stop the next', async () => {
  const mailbox = new Mailbox();
  const order: string[] = [];
  const slow = mailbox.post(async () => {
    order.push('a starts');
    await new Promise((resolve) => setTimeout(resolve, 30));
    order.push('a ends');
  });
  const failing = mailbox.post(async () => {
    order.push('b');
    throw new Error('b failed');
  });
  const last = mailbox.post(async () => order.push('c'));
  assert.equal(mailbox.size, 3);
  await slow;
  await assert.rejects(failing, /b failed/);
  await last;
  assert.deepEqual(order, ['a starts', 'a ends', 'b', 'c']);
  assert.equal(mailbox.busy, false);
});
