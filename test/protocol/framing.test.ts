import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { EncodedMessage, FramingError, LineReader, LineWriter, encodeLine, readLines } from '../../src/protocol/framing.js';
import { MAX_LINE_BYTES } from '../../src/protocol/types.js';

/** Feeds the chunks and returns lines as strings and errors as `!kind`. */
function feed(reader: LineReader, ...chunks: Array<Buffer | string>): string[] {
  const out: string[] = [];
  for (const chunk of chunks) {
    for (const item of reader.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) {
      out.push(typeof item === 'string' ? item : `!${item.kind}`);
    }
  }
  return out;
}

test('a line split over many chunks is buffered until its newline', () => {
  const reader = new LineReader();
  assert.deepEqual(feed(reader, '{"a":', '1', '}'), []);
  assert.equal(reader.bufferedBytes, 7);
  assert.deepEqual(feed(reader, '\n'), ['{"a":1}']);
  assert.equal(reader.bufferedBytes, 0);
});

test('a multi-byte character split between chunks decodes whole', () => {
  const reader = new LineReader();
  const bytes = Buffer.from('"café €"\n');
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i++) out.push(...feed(reader, bytes.subarray(i, i + 1)));
  assert.deepEqual(out, ['"café €"']);
});

test('several lines in one chunk come out in order; blank lines are skipped', () => {
  const reader = new LineReader();
  assert.deepEqual(feed(reader, '1\n\n2\n  \n3\n4'), ['1', '2', '3']);
  assert.deepEqual(feed(reader, '\n'), ['4']);
});

test('CRLF line ends are tolerated; a bare CR inside a line is kept', () => {
  const reader = new LineReader();
  assert.deepEqual(feed(reader, 'a\r\nb\r', '\nc\rd\n'), ['a', 'b', 'c\rd']);
});

test('a line of exactly the limit passes, one byte more is an error', () => {
  const exact = 'x'.repeat(MAX_LINE_BYTES);
  assert.deepEqual(feed(new LineReader(), exact + '\n'), [exact]);
  assert.deepEqual(feed(new LineReader(), exact + '\r\n'), [exact], 'the CR does not count');
  assert.deepEqual(feed(new LineReader(), exact + 'x\n'), ['!too-long']);
  assert.deepEqual(feed(new LineReader(), exact + 'x\r\n'), ['!too-long']);
});

test('the limit counts bytes, not characters', () => {
  const euros = '€'.repeat(Math.floor(MAX_LINE_BYTES / 3)); // 3 bytes each, just under the limit
  assert.deepEqual(feed(new LineReader(), euros + '\n'), [euros]);
  assert.deepEqual(feed(new LineReader(), euros + '€\n'), ['!too-long']);
});

test('a too-long line is reported once, discarded to its newline, and the next line is read', () => {
  const reader = new LineReader();
  const out: string[] = [];
  const chunk = Buffer.alloc(16 * 1024, 'y');
  for (let i = 0; i < 64; i++) {
    out.push(...feed(reader, chunk)); // 1 MiB without a newline
    assert.ok(reader.bufferedBytes <= MAX_LINE_BYTES + 1, `buffer stays bounded (${reader.bufferedBytes})`);
  }
  assert.deepEqual(out, ['!too-long']);
  assert.deepEqual(feed(reader, 'yyy\n{"next":true}\n'), ['{"next":true}']);
});

test('a custom limit applies', () => {
  assert.deepEqual(feed(new LineReader({ maxLineBytes: 3 }), 'abc\nabcd\nab\n'), ['abc', '!too-long', 'ab']);
});

test('invalid UTF-8 is an error for that line only', () => {
  const reader = new LineReader();
  const cases = [
    Buffer.from([0xff]), // never valid
    Buffer.from([0xc0, 0x80]), // overlong NUL
    Buffer.from([0xe2, 0x82]), // truncated sequence at the end of the line
    Buffer.from([0xed, 0xa0, 0x80]), // UTF-16 surrogate
  ];
  for (const bad of cases) {
    assert.deepEqual(feed(reader, Buffer.concat([Buffer.from('{"a":"'), bad, Buffer.from('"}\nok\n')])), ['!bad-utf8', 'ok']);
  }
});

test('end() delivers a last line without a newline, but not the tail of a discarded one', () => {
  const reader = new LineReader();
  feed(reader, 'tail');
  assert.deepEqual(reader.end().map(String), ['tail']);
  const discarding = new LineReader({ maxLineBytes: 2 });
  assert.deepEqual(feed(discarding, 'abcdef'), ['!too-long']);
  assert.deepEqual(discarding.end(), []);
});

test('encodeLine writes one compact JSON line', () => {
  assert.equal(encodeLine({ v: 1, id: 'a\nb', text: 'é' }), '{"v":1,"id":"a\\nb","text":"é"}\n');
});

function tempSocketPath(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmst-framing-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 's.sock');
}

test('readLines frames a real socket and reports errors in stream order', async (t) => {
  const socketPath = tempSocketPath(t);
  const received: string[] = [];
  let ended!: () => void;
  const done = new Promise<void>((resolve) => (ended = resolve));
  const server = net.createServer((socket) => {
    readLines(socket, {
      onLine: (line) => received.push(line),
      onError: (error: FramingError) => received.push(`!${error.kind}`),
      onEnd: ended,
    });
  });
  t.after(() => server.close());
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const client = net.connect(socketPath);
  client.write('one\r\ntw');
  client.write(Buffer.from([0x6f, 0x0a, 0xff, 0x0a]));
  client.end('x'.repeat(MAX_LINE_BYTES + 10) + '\nlast');
  await done;
  assert.deepEqual(received, ['one', 'two', '!bad-utf8', '!too-long', 'last']);
});

test('LineWriter closes the connection of a peer that never reads, once the cap is passed', async (t) => {
  const socketPath = tempSocketPath(t);
  const cap = 256 * 1024;
  const clientSide = new Promise<net.Socket>((resolve) => {
    const server = net.createServer(resolve);
    t.after(() => server.close());
    server.listen(socketPath, () => {
      const reader = net.connect(socketPath);
      reader.pause(); // never reads
      t.after(() => reader.destroy());
    });
  });
  const socket = await clientSide;
  socket.on('error', () => {});
  let overflowBytes = 0;
  const writer = new LineWriter(socket, { maxQueuedBytes: cap, onOverflow: (bytes) => (overflowBytes = bytes) });
  const closed = new Promise((resolve) => socket.once('close', resolve));
  const line = { v: 1, event: { text: 'z'.repeat(1000) } };
  let accepted = 0;
  // The kernel takes some bytes first; after that the queue grows until the cap.
  while (writer.write(line)) {
    accepted++;
    assert.ok(accepted < 100_000, 'the writer must give up long before this');
  }
  await closed;
  assert.equal(writer.closedForOverflow, true);
  assert.ok(overflowBytes > cap, `queued ${overflowBytes} bytes when it gave up`);
  assert.ok(overflowBytes <= cap + encodeLine(line).length, 'never more than the cap plus one message');
  assert.equal(writer.write(line), false, 'writing after the close is refused');
});

test('LineWriter.whenDrained waits for a full queue to drain', async (t) => {
  const socketPath = tempSocketPath(t);
  let readerSocket!: net.Socket;
  const serverSide = new Promise<net.Socket>((resolve) => {
    const server = net.createServer(resolve);
    t.after(() => server.close());
    server.listen(socketPath, () => {
      readerSocket = net.connect(socketPath);
      readerSocket.pause();
      t.after(() => readerSocket.destroy());
    });
  });
  const socket = await serverSide;
  socket.on('error', () => {}); // the reader may reset the connection at cleanup
  t.after(() => socket.destroy());
  const writer = new LineWriter(socket);
  while (writer.ready) writer.write({ pad: 'p'.repeat(4096) });
  let drained = false;
  const waiting = writer.whenDrained().then(() => (drained = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(drained, false, 'still full while nobody reads');
  readerSocket.resume();
  await waiting;
  assert.equal(writer.ready, true);
});

test('LineWriter lets a reading peer receive a single message larger than the cap', async (t) => {
  const socketPath = tempSocketPath(t);
  const received = new Promise<string>((resolve) => {
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      const writer = new LineWriter(socket, { maxQueuedBytes: 64 * 1024 });
      assert.equal(writer.write({ big: 'b'.repeat(1024 * 1024) }), true);
      socket.end();
    });
    t.after(() => server.close());
    server.listen(socketPath, () => {
      const client = net.connect(socketPath);
      const lines: string[] = [];
      readLines(client, { onLine: (l) => lines.push(l), onError: (e) => lines.push(`!${e.kind}`), onEnd: () => resolve(lines.join('|')) }, {
        maxLineBytes: 2 * 1024 * 1024,
      });
    });
  });
  const text = await received;
  assert.equal((JSON.parse(text) as { big: string }).big.length, 1024 * 1024);
});

test('LineWriter sends a pre-encoded message (text and UTF-8 pieces) as the one line encodeLine gives', async (t) => {
  const socketPath = tempSocketPath(t);
  const message = new EncodedMessage(['{"v":1,"id":"é","result":', Buffer.from('[{"name":"web ü"}]'), '}']);
  const received = new Promise<string[]>((resolve) => {
    const server = net.createServer((socket) => {
      const writer = new LineWriter(socket);
      assert.equal(writer.write(message), true);
      assert.equal(writer.write({ after: true }), true);
      socket.end();
    });
    t.after(() => server.close());
    server.listen(socketPath, () => {
      const lines: string[] = [];
      readLines(net.connect(socketPath), { onLine: (l) => lines.push(l), onError: (e) => lines.push(`!${e.kind}`), onEnd: () => resolve(lines) });
    });
  });
  const lines = await received;
  assert.deepEqual(lines, [encodeLine(message).slice(0, -1), '{"after":true}']);
  assert.deepEqual(JSON.parse(lines[0]!), { v: 1, id: 'é', result: [{ name: 'web ü' }] });
});
