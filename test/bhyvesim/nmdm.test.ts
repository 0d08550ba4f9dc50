/** The simulator's nmdm(4) pair (src/bhyvesim/nmdm.ts): what a worker writes reaches bhyve's side as on the real pair. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EmulatedNmdmA, listenEmulatedNmdm } from '../../src/bhyvesim/nmdm.js';
import { waitFor } from '../helpers/vmstated-env.js';
import { tempDir } from '../helpers/temp-dir.js';

function bhyveSide(socketPath: string) {
  const side = new EmulatedNmdmA(socketPath);
  let received = '';
  side.onData((chunk) => (received += chunk.toString()));
  return { side, received: () => received };
}

test('keystrokes a replacing worker types before bhyve\'s side reconnected reach the guest', async (t) => {
  const socketPath = path.join(tempDir(t), 'nmdm', 'nmdm0');
  const first = await listenEmulatedNmdm(socketPath);
  const bhyve = bhyveSide(socketPath);
  t.after(() => bhyve.side.close());
  await waitFor('bhyve\'s side to connect', () => (first.write(Buffer.from('one\r')) && bhyve.received().includes('one') ? true : undefined));
  first.close(); // the worker is SIGKILLed; bhyve keeps its side

  const second = await listenEmulatedNmdm(socketPath);
  t.after(() => second.close());
  assert.equal(second.write(Buffer.from('two\r')), true, 'held for bhyve\'s side');
  await waitFor('the keystrokes to arrive once bhyve\'s side is back', () => (bhyve.received().includes('two\r') ? true : undefined));
});

test('keystrokes for a guest whose bhyve is not there are lost once the grace is over, as on a pair open on one side only', async (t) => {
  const socketPath = path.join(tempDir(t), 'nmdm', 'nmdm1');
  const worker = await listenEmulatedNmdm(socketPath);
  t.after(() => worker.close());
  worker.write(Buffer.from('stale\r'));
  await sleep(1200); // past the 1 s grace: the bytes were dropped
  const bhyve = bhyveSide(socketPath);
  t.after(() => bhyve.side.close());
  await waitFor('bhyve\'s side to receive a fresh keystroke', () => (worker.write(Buffer.from('fresh\r')) && bhyve.received().includes('fresh') ? true : undefined));
  assert.doesNotMatch(bhyve.received(), /stale/);
});
