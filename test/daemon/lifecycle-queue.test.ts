/**
 * One VM's line of lifecycle operations (src/daemon/lifecycle-queue.ts) on its own: operations run
 * one after another, clients' commands wait only a few at a time, and ending the waiting ones
 * leaves the running one and the registry's own operations alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LimitError } from '../../src/daemon/connection-limits.js';
import { LifecycleQueue, MAX_WAITING_COMMANDS } from '../../src/daemon/lifecycle-queue.js';

/** An operation that records when it starts and ends when `finish()` is called. */
function gate(log: string[], name: string): { operation: () => Promise<string>; finish(): void } {
  let finish = (): void => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    operation: async () => {
      log.push(name);
      await done;
      return name;
    },
    finish: () => finish(),
  };
}

/** Lets every pending microtask and callback run. */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('operations run one at a time in order; past the bound a client command is refused at once, naming the VM and the limit', async () => {
  const queue = new LifecycleQueue('web');
  const log: string[] = [];
  const first = gate(log, 'first');
  const running = queue.command(first.operation);
  const waiting = Array.from({ length: MAX_WAITING_COMMANDS }, (_, i) => gate(log, `waiting ${i}`));
  const results = waiting.map((g) => queue.command(g.operation));
  assert.equal(queue.waiting, MAX_WAITING_COMMANDS, 'the running command does not count');
  assert.throws(() => queue.command(async () => 'one too many'), (err: unknown) =>
    err instanceof LimitError && err.code === 'LIMIT' &&
    err.message === `VM "web" already has ${MAX_WAITING_COMMANDS} commands waiting, the limit per VM; try again when they have run`);
  const internal = queue.internal(async () => 'internal');
  assert.equal(queue.waiting, MAX_WAITING_COMMANDS, 'the registry\'s own operations are not counted, nor refused');

  await settled();
  assert.deepEqual(log, ['first'], 'nothing else runs while one operation runs');
  first.finish();
  assert.equal(await running, 'first');
  await settled();
  assert.deepEqual(log, ['first', 'waiting 0']);
  assert.equal(queue.waiting, MAX_WAITING_COMMANDS - 1, 'one place is free again');
  for (const g of waiting) g.finish();
  assert.deepEqual(await Promise.all(results), waiting.map((_, i) => `waiting ${i}`));
  assert.equal(await internal, 'internal');
  assert.equal(queue.waiting, 0);
});

test('ending the waiting commands rejects each of them, not the running one nor the registry\'s operations, which still run in order', async () => {
  const queue = new LifecycleQueue('web');
  const log: string[] = [];
  const first = gate(log, 'first');
  const running = queue.command(first.operation);
  const ended = [queue.command(async () => log.push('ended 0')), queue.internal(async () => log.push('internal')), queue.command(async () => log.push('ended 1'))];
  const error = new Error('superseded by a stop');
  assert.equal(queue.endWaitingCommands(error), 2);
  assert.equal(queue.waiting, 0);
  assert.equal(queue.endWaitingCommands(error), 0, 'a second time, nothing is left to end');
  await assert.rejects(ended[0]!, (err) => err === error);
  await assert.rejects(ended[2]!, (err) => err === error);
  const after = queue.command(async () => log.push('after'));
  first.finish();
  await running;
  await Promise.all([ended[1], after]);
  assert.deepEqual(log, ['first', 'internal', 'after'], 'the ended commands never ran');
});

test('an operation that throws, even at once, rejects its own promise and the line goes on', async () => {
  const queue = new LifecycleQueue('web');
  const failing = queue.command((() => {
    throw new Error('boom');
  }) as () => Promise<never>);
  const next = queue.command(async () => 'next');
  await assert.rejects(failing, /boom/);
  assert.equal(await next, 'next');
});

test('ending the waiting commands may spare the stops: a stop does not end another', async () => {
  const queue = new LifecycleQueue('web');
  const log: string[] = [];
  const first = gate(log, 'first');
  const running = queue.command(first.operation);
  const start = queue.command(async () => log.push('start'));
  const stop = queue.command(async () => log.push('stop'), { isStop: true });
  assert.equal(queue.endWaitingCommands(new Error('superseded'), { spareStops: true }), 1);
  await assert.rejects(start, /superseded/);
  assert.equal(queue.waiting, 1, 'the stop still waits, and counts');
  first.finish();
  await running;
  await stop;
  assert.deepEqual(log, ['first', 'stop']);
});

test('a stop that comes while another waits shares its outcome: it is neither queued again nor refused at the bound', async () => {
  const queue = new LifecycleQueue('web');
  const log: string[] = [];
  const first = gate(log, 'first');
  const running = queue.command(first.operation);
  const waiting = Array.from({ length: MAX_WAITING_COMMANDS - 1 }, (_, i) => queue.command(async () => log.push(`waiting ${i}`)));
  const stop = queue.command(async () => log.push('stop'), { isStop: true });
  assert.equal(queue.waiting, MAX_WAITING_COMMANDS);
  const rootStop = queue.command(async () => log.push('second stop'), { isStop: true });
  assert.equal(rootStop, stop, 'the same outcome');
  assert.equal(queue.waiting, MAX_WAITING_COMMANDS, 'nothing more waits');
  first.finish();
  await Promise.all([running, ...waiting, stop, rootStop]);
  assert.deepEqual(log, ['first', 'waiting 0', 'waiting 1', 'waiting 2', 'stop']);
});
