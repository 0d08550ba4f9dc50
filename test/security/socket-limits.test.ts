/**
 * The control socket's limits, each on its own: the per-user accounting (ConnectionLimits), and an
 * in-process ControlServer with small values for what takes time or many connections to see with a
 * real daemon (the idle timeout, the requests in flight of one connection, the overall cap).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { CONTROL_LIMITS, ConnectionLimits, LimitError } from '../../src/daemon/connection-limits.js';
import type { ControlLimitValues } from '../../src/daemon/connection-limits.js';
import { RequestPacer } from '../../src/daemon/request-pacer.js';
import { ControlServer } from '../../src/daemon/server.js';
import type { RequestHandler } from '../../src/daemon/server.js';
import { ControlClient } from '../../src/protocol/client.js';
import { waitFor } from '../helpers/vmstated-env.js';

const ALICE = 1001;
const BOB = 1002;

test('connections per user, the reserve only root may use, streams per user; a slot comes back once, when released', () => {
  const limits = new ConnectionLimits({ ...CONTROL_LIMITS, maxConnections: 6, rootReserve: 2, maxConnectionsPerUser: 3, maxStreamsPerUser: 1 });
  const alice = [limits.admitConnection(ALICE), limits.admitConnection(ALICE), limits.admitConnection(ALICE)];
  assert.throws(() => limits.admitConnection(ALICE), (err: unknown) =>
    err instanceof LimitError && err.code === 'LIMIT' && err.message === `too many connections of uid ${ALICE}: the limit is 3 per user`);
  limits.admitConnection(BOB);
  assert.throws(() => limits.admitConnection(BOB), /too many connections: the limit is 4 for all users but root \(2 are kept for root\)/);
  const root = [limits.admitConnection(0), limits.admitConnection(0)];
  assert.throws(() => limits.admitConnection(0), /too many connections: the limit is 6 for all users together/);
  root[0]!();
  root[0]!(); // twice: one slot only
  assert.equal(limits.openConnections, 5);
  assert.throws(() => limits.admitConnection(BOB), /for all users but root/, 'the slot root freed is still root\'s');
  alice[0]!();
  limits.admitConnection(BOB);

  const stream = limits.openStream(ALICE);
  assert.throws(() => limits.openStream(ALICE), /too many streams \(events, logs -f, console\) of uid 1001: the limit is 1 per user/);
  limits.openStream(BOB);
  for (let i = 0; i < 5; i++) limits.openStream(0);
  stream();
  limits.openStream(ALICE);
});

test('a user\'s requests start a few per turn of the event loop, the rest in the next turns; root\'s at once', async () => {
  const pacer = new RequestPacer(2);
  let resumed = 0;
  const resume = (): void => {
    resumed += 1;
  };
  assert.deepEqual([pacer.mayStart(ALICE, resume), pacer.mayStart(ALICE, resume), pacer.mayStart(ALICE, resume), pacer.mayStart(ALICE, resume)], [true, true, false, false]);
  assert.equal(pacer.mayStart(BOB, resume), true, 'each user has its own slice');
  for (let i = 0; i < 100; i++) assert.equal(pacer.mayStart(0, resume), true);
  assert.equal(resumed, 0);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(resumed, 1, 'resumed once, in the next turn');
  assert.equal(pacer.mayStart(ALICE, resume), true, 'with a fresh slice');
});

/** A ControlServer on a temp socket with these limits and handler; closed after the test. */
async function serve(t: { after(fn: () => unknown): void }, limits: Partial<ControlLimitValues>, handle: RequestHandler): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmstated-limits-'));
  const sockpath = path.join(dir, 'ctl.sock');
  const server = new ControlServer(handle, pino({ level: 'silent' }), { ...CONTROL_LIMITS, ...limits });
  await server.listen(sockpath);
  t.after(async () => {
    await server.close(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return sockpath;
}

/** Connects and collects every line the server sends; `closed` resolves when the server closes. */
function rawConnection(sockpath: string): { socket: net.Socket; lines: string[]; closed: Promise<void> } {
  const socket = net.connect(sockpath);
  const lines: string[] = [];
  let buffered = '';
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return { socket, lines, closed };
}

test('an idle connection is closed with a LIMIT line naming the timeout; one with a request in flight or a stream open is not', async (t) => {
  const releases: Array<() => void> = [];
  const sockpath = await serve(t, { idleTimeoutMs: 300 }, async (request, session) => {
    if (request.cmd === 'events') {
      session.openStream();
      session.send({ v: 1, id: request.id, ok: true, result: { subscribed: true } });
      await new Promise<void>((resolve) => session.onClose(resolve));
      return;
    }
    await new Promise<void>((resolve) => releases.push(resolve)); // a slow start, say
    session.send({ v: 1, id: request.id, ok: true, result: 'done' });
  });
  const idle = rawConnection(sockpath);
  const streaming = rawConnection(sockpath);
  streaming.socket.write('{"v":1,"id":1,"cmd":"events"}\n');
  const busy = rawConnection(sockpath);
  busy.socket.write('{"v":1,"id":1,"cmd":"start","args":{"vm":"web"}}\n');

  await idle.closed;
  assert.deepEqual(idle.lines.map((line) => JSON.parse(line)), [
    { v: 1, id: null, ok: false, error: { code: 'LIMIT', message: 'connection closed: no request for 0.3 s (the idle timeout is 0.3 s)' } },
  ]);
  await waitFor('the slow request to be under way', () => (releases.length === 1 ? true : undefined));
  // A timeout later (a fresh idle connection was closed meanwhile), both are still served.
  await rawConnection(sockpath).closed;
  assert.equal(streaming.socket.destroyed || busy.socket.destroyed, false);
  releases[0]!();
  await busy.closed; // idle again once answered: closed after another timeout
  assert.equal(JSON.parse(busy.lines[0]!).result, 'done');
  assert.match(busy.lines[1]!, /"code":"LIMIT".*idle timeout is 0\.3 s/);
  assert.equal(streaming.socket.destroyed, false);
  streaming.socket.destroy();
});

test('a connection writing requests without end: at most maxRequestsPerConnection are carried out at once, reading pauses, the rest follow in order', async (t) => {
  const started: number[] = [];
  const releases: Array<() => void> = [];
  const sockpath = await serve(t, { maxRequestsPerConnection: 4 }, async (request, session) => {
    started.push(request.id as number);
    await new Promise<void>((resolve) => releases.push(resolve));
    session.send({ v: 1, id: request.id, ok: true, result: null });
  });
  const flood = rawConnection(sockpath);
  const total = 40_000;
  for (let id = 0; id < total; id++) flood.socket.write(`{"v":1,"id":${id},"cmd":"status"}\n`);
  await waitFor('four requests under way', () => (started.length === 4 ? true : undefined));
  const client = await ControlClient.connect(sockpath);
  t.after(() => client.close());
  const other = client.request('status');
  await waitFor('another connection served meanwhile', () => (started.length === 5 ? true : undefined));
  releases[4]!();
  await other;
  assert.ok(flood.socket.writableLength > 0, 'the server stopped reading: the requests wait in the client');
  assert.deepEqual(started.slice(0, 4), [0, 1, 2, 3]);
  releases[0]!();
  await waitFor('the next request to start', () => (started.length === 6 ? true : undefined));
  assert.equal(started[5], 4, 'in order');
  flood.socket.destroy();
});

test('past maxConnections even root is refused, with one LIMIT line that the client reports as the daemon\'s refusal', async (t) => {
  const sockpath = await serve(t, { maxConnections: 2, rootReserve: 1 }, async (request, session) => {
    session.send({ v: 1, id: request.id, ok: true, result: [] });
  });
  const first = await ControlClient.connect(sockpath);
  const second = await ControlClient.connect(sockpath);
  t.after(() => {
    first.close();
    second.close();
  });
  await first.request('status');
  await second.request('status');
  const third = await ControlClient.connect(sockpath);
  await assert.rejects(third.request('status'), (err: Error & { code?: string }) =>
    err.name === 'ControlError' && err.code === 'LIMIT' && err.message === 'connection refused: too many connections: the limit is 2 for all users together');
  await assert.rejects(third.request('status'), /the limit is 2 for all users together/, 'and so is every later request on it');
});
