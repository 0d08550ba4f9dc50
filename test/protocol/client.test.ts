import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  ConnectionLostError,
  ControlClient,
  ControlError,
  DaemonUnreachableError,
  ProtocolError,
  RequestTimeoutError,
} from '../../src/protocol/client.js';
import { LineWriter, readLines } from '../../src/protocol/framing.js';
import { errorReply, okReply, parseRequest } from '../../src/protocol/request.js';
import type { Request, VmEvent } from '../../src/protocol/types.js';
import { tempDir } from '../helpers/temp-dir.js';

interface TestContext {
  after(fn: () => void | Promise<void>): void;
}

type Handler = (request: Request, writer: LineWriter, socket: net.Socket) => void;

/** A tiny daemon stand-in: parses requests with the real validator and lets the test answer. */
async function startServer(t: TestContext, handle: Handler): Promise<string> {
  const socketPath = path.join(tempDir(t, 'vmst-client-'), 'ctl.sock');
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    const writer = new LineWriter(socket);
    readLines(socket, {
      onLine(line) {
        const parsed = parseRequest(line);
        if (parsed.ok) handle(parsed.request, writer, socket);
        else writer.write(parsed.reply);
      },
      onError(error) {
        writer.write(errorReply(null, 'BAD_REQUEST', error.message));
      },
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return socketPath;
}

async function connect(t: TestContext, socketPath: string): Promise<ControlClient> {
  const client = await ControlClient.connect(socketPath, { timeoutMs: 2000 });
  t.after(() => client.close());
  return client;
}

test('replies are matched by id even when they come back out of order', async (t) => {
  const held: Request[] = [];
  const socketPath = await startServer(t, (request, writer) => {
    held.push(request);
    if (held.length === 3) for (const r of held.reverse()) writer.write(okReply(r.id, { echo: r.args }));
  });
  const client = await connect(t, socketPath);
  const results = await Promise.all([
    client.request('status', { vm: 'a' }),
    client.request('status', { vm: 'b' }),
    client.request('status', { vm: 'c' }),
  ]);
  assert.deepEqual(results, [{ echo: { vm: 'a' } }, { echo: { vm: 'b' } }, { echo: { vm: 'c' } }]);
  assert.deepEqual(
    held.map((r) => r.id),
    [3, 2, 1],
    'the server answered in reverse order',
  );
});

test('many concurrent requests on one connection each get their own reply', async (t) => {
  const socketPath = await startServer(t, (request, writer) => {
    setImmediate(() => writer.write(okReply(request.id, request.args?.vm)));
  });
  const client = await connect(t, socketPath);
  const names = Array.from({ length: 200 }, (_, i) => `vm${i}`);
  assert.deepEqual(await Promise.all(names.map((vm) => client.request('start', { vm }))), names);
});

test('an error reply rejects with ControlError carrying code and message', async (t) => {
  const socketPath = await startServer(t, (request, writer) => {
    writer.write(errorReply(request.id, 'NOT_FOUND', `no VM named "${String(request.args?.vm)}"`));
  });
  const client = await connect(t, socketPath);
  await assert.rejects(client.request('stop', { vm: 'ghost' }), (error: unknown) => {
    assert.ok(error instanceof ControlError);
    assert.equal(error.code, 'NOT_FOUND');
    assert.equal(error.message, 'no VM named "ghost"');
    assert.equal(error.cmd, 'stop');
    return true;
  });
  // The daemon's own validation errors come back the same way, and the connection stays usable.
  await assert.rejects(client.request('logs', { vm: 'a', n: -3 }), /"n" must be a whole number/);
  await assert.rejects(client.request('stop', { vm: 'again' }), /again/);
});

test('a missing socket is DaemonUnreachableError with the path and a hint', async (t) => {
  const socketPath = path.join(tempDir(t, 'vmst-client-'), 'nothing.sock');
  await assert.rejects(ControlClient.connect(socketPath), (error: unknown) => {
    assert.ok(error instanceof DaemonUnreachableError);
    assert.equal(error.code, 'ENOENT');
    assert.ok(error.message.includes(socketPath));
    assert.ok(error.message.includes('is vmstated running? (-s / VMSTATED_SOCKET)'));
    return true;
  });
});

test('a stale socket nobody listens on is DaemonUnreachableError ECONNREFUSED', async (t) => {
  const socketPath = path.join(tempDir(t, 'vmst-client-'), 'stale.sock');
  // A process that dies without closing its listener leaves the socket file behind, as a crashed daemon does.
  const child = spawn(
    process.execPath,
    ['-e', `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`],
    { stdio: 'ignore' },
  );
  await new Promise((resolve) => child.once('exit', resolve));
  assert.ok(fs.existsSync(socketPath), 'the stale socket file is there');
  await assert.rejects(ControlClient.connect(socketPath), (error: unknown) => {
    assert.ok(error instanceof DaemonUnreachableError);
    assert.equal(error.code, 'ECONNREFUSED');
    assert.match(error.message, /connection refused/);
    return true;
  });
});

test('losing the connection rejects every waiting request with ConnectionLostError', async (t) => {
  let seen = 0;
  const socketPath = await startServer(t, (_request, _writer, socket) => {
    if (++seen === 2) socket.destroy();
  });
  const client = await connect(t, socketPath);
  const first = client.request('status');
  const second = client.request('top');
  await assert.rejects(first, (error: unknown) => error instanceof ConnectionLostError && /status/.test(error.message));
  await assert.rejects(second, ConnectionLostError);
  assert.equal(client.isClosed, true);
  await assert.rejects(client.request('status'), ConnectionLostError);
});

test('a reply line that is not JSON fails the waiting requests with ProtocolError', async (t) => {
  const socketPath = await startServer(t, (_request, _writer, socket) => {
    socket.write('this is not json\n');
  });
  const client = await connect(t, socketPath);
  await assert.rejects(client.request('status'), (error: unknown) => error instanceof ProtocolError && /not JSON/.test(error.message));
});

test('an error reply without an id (a line the daemon could not read) fails what waits', async (t) => {
  const socketPath = await startServer(t, (_request, writer) => {
    writer.write(errorReply(null, 'BAD_REQUEST', 'request rejected: the line is not valid UTF-8'));
  });
  const client = await connect(t, socketPath);
  await assert.rejects(client.request('status'), (error: unknown) => error instanceof ControlError && error.code === 'BAD_REQUEST');
});

test('a request too long for the protocol is refused before it is sent', async (t) => {
  let received = 0;
  const socketPath = await startServer(t, (request, writer) => {
    received++;
    writer.write(okReply(request.id, 'ok'));
  });
  const client = await connect(t, socketPath);
  await assert.rejects(client.request('status', { vm: 'v'.repeat(70 * 1024) }), ProtocolError);
  assert.equal(await client.request('status'), 'ok');
  assert.equal(received, 1);
});

test('a request with a timeout rejects with RequestTimeoutError when no reply comes', async (t) => {
  const socketPath = await startServer(t, () => {});
  const client = await connect(t, socketPath);
  await assert.rejects(client.request('status', {}, { timeoutMs: 50 }), RequestTimeoutError);
});

test('partial results of a streaming request reach onData before the final reply', async (t) => {
  const socketPath = await startServer(t, (request, writer) => {
    for (const line of ['a', 'b', 'c']) writer.write({ v: 1, id: request.id, data: line });
    writer.write(okReply(request.id, { lines: 3 }));
  });
  const client = await connect(t, socketPath);
  const data: unknown[] = [];
  const result = await client.request('logs', { vm: 'web', follow: true }, { onData: (d) => data.push(d) });
  assert.deepEqual(data, ['a', 'b', 'c']);
  assert.deepEqual(result, { lines: 3 });
});

test('events() delivers event lines and resolves when the stream closes', async (t) => {
  const event: VmEvent = { type: 'launch', vm: 'web', pid: 42, time: '2026-01-01T00:00:00.000Z' };
  const socketPath = await startServer(t, (request, writer, socket) => {
    assert.equal(request.cmd, 'events');
    writer.write(okReply(request.id, null));
    writer.write({ v: 1, event });
    writer.write({ v: 1, event: { ...event, pid: 43 } });
    socket.end();
  });
  const client = await connect(t, socketPath);
  const received: VmEvent[] = [];
  await client.events((e) => received.push(e));
  assert.deepEqual(received, [event, { ...event, pid: 43 }]);
  assert.equal(client.isClosed, true);
});

test('events() also works when the daemon streams without a confirming reply', async (t) => {
  const socketPath = await startServer(t, (_request, writer, socket) => {
    writer.write({ v: 1, event: { type: 'config', problems: 0, time: 'now' } });
    socket.end();
  });
  const client = await connect(t, socketPath);
  const received: VmEvent[] = [];
  await client.events((e) => received.push(e));
  assert.equal(received.length, 1);
});

test('events() rejects when the daemon refuses the subscription', async (t) => {
  const socketPath = await startServer(t, (request, writer) => {
    writer.write(errorReply(request.id, 'NOT_FOUND', 'no VM named "x"'));
  });
  const client = await connect(t, socketPath);
  await assert.rejects(client.events(() => {}, { vm: 'x' }), (error: unknown) => error instanceof ControlError && error.code === 'NOT_FOUND');
  client.close();
});

test('the client imports nothing heavier than node:net (node:fs is loaded by Node before any module)', () => {
  const source = fs.readFileSync(new URL('../../src/protocol/client.js', import.meta.url), 'utf8');
  const framing = fs.readFileSync(new URL('../../src/protocol/framing.js', import.meta.url), 'utf8');
  const types = fs.readFileSync(new URL('../../src/protocol/types.js', import.meta.url), 'utf8');
  const imports = (text: string): string[] => [...text.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
  assert.deepEqual(imports(source).sort(), ['./framing.js', './types.js', 'node:fs', 'node:net']);
  assert.deepEqual(imports(framing), ['./types.js']);
  assert.deepEqual(imports(types), []);
});
