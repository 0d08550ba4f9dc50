/** src/rpc: Comlink over a Unix socket, in one process. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type net from 'node:net';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import { ConnectionLostError, connectSocket, connectWorker, exposeOnSocketServer, wrapEndpoint, type SocketEndpoint } from '../../src/rpc/index.js';

interface Sample {
  echo(value: unknown): unknown;
  add(a: number, b: number): Promise<number>;
  never(): Promise<void>;
  fail(): void;
}

const sample: Sample = {
  echo: (value) => value,
  add: async (a, b) => a + b,
  never: () => new Promise(() => {}),
  fail: () => {
    throw new Error('it went wrong');
  },
};

async function serve(t: TestContext, onConnection?: (endpoint: SocketEndpoint) => void): Promise<{ socket: string; server: net.Server }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmstated-rpc-'));
  const socket = path.join(dir, 'test.sock');
  const server = await exposeOnSocketServer(sample, socket, { onConnection });
  t.after(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { socket, server };
}

test('calls, plain data both ways, thrown errors, socket mode 0600', async (t) => {
  const { socket } = await serve(t);
  assert.equal(fs.statSync(socket).mode & 0o777, 0o600);
  const connection = await connectWorker(socket, 1_000);
  t.after(() => connection.close());
  const api = connection.api as unknown as Comlink.Remote<Sample>;
  assert.equal(await api.add(2, 3), 5);
  const data = { name: 'web', list: [1, 'two', null], nested: { ok: true }, unicode: 'é\n"' };
  assert.deepEqual(await api.echo(data), data);
  await assert.rejects(api.fail(), /it went wrong/);
  // concurrent calls are matched to their replies
  assert.deepEqual(await Promise.all([api.add(1, 1), api.add(2, 2), api.add(3, 3)]), [2, 4, 6]);
});

test('connection loss rejects pending calls and later ones; onClose fires', async (t) => {
  let serverSide: SocketEndpoint | null = null;
  const { socket } = await serve(t, (endpoint) => (serverSide = endpoint));
  const connection = await connectWorker(socket, 1_000);
  const api = connection.api as unknown as Comlink.Remote<Sample>;
  let closed = false;
  connection.onClose(() => (closed = true));
  const pending = api.never();
  await api.add(0, 0); // the connection is set up on both sides
  (serverSide as SocketEndpoint | null)?.close();
  await assert.rejects(pending, ConnectionLostError);
  assert.equal(closed, true);
  await assert.rejects(api.add(1, 2), ConnectionLostError);
});

test('only top-level methods can be called; anything else is refused with an error', async (t) => {
  const { socket } = await serve(t);
  const endpoint = await connectSocket(socket, 1_000);
  t.after(() => endpoint.close());
  const raw = Comlink.wrap<Record<string, unknown>>(endpoint) as unknown as {
    constructor: { constructor: (code: string) => Promise<unknown> };
    missing: () => Promise<unknown>;
  };
  await assert.rejects(raw.constructor.constructor('return process.pid'), /refused/);
  await assert.rejects(raw.missing(), /refused: no method missing/);
});

test('both directions on one socket: the server calls an object the client exposes', async (t) => {
  let serverSide: SocketEndpoint | null = null;
  const { socket } = await serve(t, (endpoint) => (serverSide = endpoint));
  const endpoint = await connectSocket(socket, 1_000);
  t.after(() => endpoint.close());
  Comlink.expose({ greet: (name: string) => `hello ${name}` }, endpoint);
  const client = wrapEndpoint<Sample>(endpoint, socket);
  assert.equal(await client.api.add(1, 2), 3);
  const back = wrapEndpoint<{ greet(name: string): string }>(serverSide as unknown as SocketEndpoint, 'client');
  assert.equal(await back.api.greet('registry'), 'hello registry');
});

test('a stale socket file is replaced; a live one is refused; connecting to nothing fails fast', async (t) => {
  const { socket } = await serve(t);
  await assert.rejects(exposeOnSocketServer(sample, socket), /already listening/);
  const dir = path.dirname(socket);
  const stale = path.join(dir, 'stale.sock');
  // a process that dies while listening leaves its socket file behind
  spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  assert.ok(fs.existsSync(stale));
  const server = await exposeOnSocketServer(sample, stale);
  t.after(() => server.close());
  const connection = await connectWorker(stale, 1_000);
  assert.equal(await (connection.api as unknown as Comlink.Remote<Sample>).add(4, 4), 8);
  connection.close();
  await assert.rejects(connectWorker(path.join(dir, 'nobody.sock'), 1_000), /nobody\.sock/);
});
