/** Bounded output: lines cut at 8 KiB between UTF-8 characters, and each source's budget. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedOutput } from '../../workers/bounded-output.js';
import { LineCutter, MAX_PIECE_BYTES } from '../../workers/line-cutter.js';
import { OUTPUT_BUDGET, OutputBudget } from '../../workers/output-budget.js';
import { waitFor } from '../helpers/vmstated-env.js';

test('lines are cut at 8 KiB, continued pieces are marked, nothing waits longer than one piece', () => {
  const cutter = new LineCutter();
  const line = 'a'.repeat(MAX_PIECE_BYTES * 2 + 10);
  const pieces = [...cutter.push(Buffer.from(line.slice(0, 5000))), ...cutter.push(Buffer.from(line.slice(5000) + '\nshort\n'))];
  assert.deepEqual(pieces.map((piece) => [piece.text.length, piece.continued]), [[MAX_PIECE_BYTES, false], [MAX_PIECE_BYTES, true], [10, true], [5, false]]);
  assert.equal(pieces.map((piece) => piece.text).slice(0, 3).join(''), line);

  const exact = cutter.push(Buffer.from('b'.repeat(MAX_PIECE_BYTES)));
  assert.deepEqual(exact, [], 'a piece of exactly 8 KiB waits for the newline that may end it');
  assert.deepEqual(cutter.push(Buffer.from('\n')).map((piece) => [piece.text.length, piece.continued]), [[MAX_PIECE_BYTES, false]]);

  for (let i = 0; i < 100; i++) cutter.push(Buffer.alloc(64 * 1024, 'z'));
  assert.ok(cutter.bufferedBytes <= MAX_PIECE_BYTES, 'output without a newline is never held beyond one piece');
  assert.equal(cutter.end().length, 1, 'the rest comes out at the end');
  assert.deepEqual(cutter.end(), []);
});

test('a cut never splits a UTF-8 character; an empty line stays a line', () => {
  const cutter = new LineCutter(10);
  const text = 'ab' + '€'.repeat(6); // 2 + 18 bytes: a cut at 10 would fall inside the third euro
  const pieces = cutter.push(Buffer.from(text + '\n\n'));
  assert.deepEqual(pieces.map((piece) => piece.text), ['ab€€', '€€€', '€', '']);
  assert.equal(pieces.slice(0, 3).map((piece) => piece.text).join(''), text);
});

test('a budget lets a burst through, then its rate; what is over it is counted', () => {
  let now = 0;
  const budget = new OutputBudget({ ...OUTPUT_BUDGET, burstLines: 3, burstBytes: 100, linesPerSecond: 1, bytesPerSecond: 1000 }, () => now);
  assert.deepEqual([budget.take(10), budget.take(10), budget.take(10), budget.take(10)], [true, true, true, false]);
  now += 1000;
  assert.deepEqual([budget.take(10), budget.take(10)], [true, false]);
  assert.deepEqual(budget.takeDropped(), { lines: 2, bytes: 20 });
  assert.equal(budget.takeDropped(), null);
  now += 60_000;
  assert.equal(budget.take(101), false, 'nor more bytes than the burst at once');
  assert.equal(budget.take(100), true);
});

test('a flood through BoundedOutput: the burst is logged, then one summary line with what was dropped', () => {
  const logged: Array<[string, string]> = [];
  const output = new BoundedOutput('bhyve[7]/stdout', (source, text) => logged.push([source, text]), {
    ...OUTPUT_BUDGET, burstLines: 2, burstBytes: 1 << 20, linesPerSecond: 0, bytesPerSecond: 0,
  });
  output.write(Buffer.from('one\ntwo\nthree\n' + 'x'.repeat(MAX_PIECE_BYTES + 1)));
  output.end();
  output.write(Buffer.from('after the end\n'));
  assert.deepEqual(logged, [
    ['bhyve[7]/stdout', 'one'],
    ['bhyve[7]/stdout', 'two'],
    ['vmstated', `3 lines (${5 + MAX_PIECE_BYTES + 1} bytes) of bhyve[7]/stdout dropped: output flood`],
  ]);
});

test('an unfinished line (a prompt waiting for input) is logged once its source is quiet; the rest of the line continues it', async () => {
  const logged: Array<[string, string]> = [];
  const output = new BoundedOutput('console', (source, text) => logged.push([source, text]), OUTPUT_BUDGET, 50);
  output.write(Buffer.from('Booting\nweb login: '));
  assert.deepEqual(logged, [['console', 'Booting']], 'the prompt waits while output may still come');
  await waitFor('the prompt to be logged', () => (logged.length === 2 ? true : undefined), 5_000);
  assert.deepEqual(logged[1], ['console', 'web login: ']);
  output.write(Buffer.from('root\n'));
  assert.deepEqual(logged[2], ['console (continued)', 'root']);
  output.end();
  assert.equal(logged.length, 3);
});
