import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { VmStatus } from '../../src/protocol/types.js';
import { createVmstatedEnv } from '../helpers/vmstated-env.js';
import { isAlive, seededRandom } from './cluster.js';

const SEED = 0x5eed;
const PAYLOADS = 400;
const PARALLEL = 8;
const CMDS = ['status', 'start', 'stop', 'restart', 'failreset', 'logs', 'top', 'events', 'reload', 'bogus', '', 'STATUS'];
const VMS = ['fz0', 'fz1', 'nope', '', '../fz0', 'fz0\u0000', 'ǆ'.repeat(300)];

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

function randomValue(random: Random, depth = 0): unknown {
  switch (Math.floor(random() * (depth > 2 ? 5 : 7))) {
    case 0: return Math.floor(random() * 2 ** 53) * (random() < 0.5 ? -1 : 1);
    case 1: return pick(random, [null, true, false, 0, -0, 1e308, 0.5]);
    case 2: return pick(random, VMS);
    case 3: return 'x'.repeat(Math.floor(random() * 2000));
    case 4: return pick(random, CMDS);
    case 5: return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1));
    default: return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, () => [pick(random, ['vm', 'wait', 'follow', 'lines', 'keepVms', '__proto__', 'constructor']), randomValue(random, depth + 1)]));
  }
}

function randomRequest(random: Random): Record<string, unknown> {
  const request: Record<string, unknown> = {};
  if (random() < 0.9) request.v = random() < 0.8 ? 1 : randomValue(random);
  if (random() < 0.9) request.id = random() < 0.7 ? Math.floor(random() * 1000) : randomValue(random);
  if (random() < 0.95) request.cmd = random() < 0.9 ? pick(random, CMDS) : randomValue(random);
  if (random() < 0.8) request.args = random() < 0.6 ? { vm: pick(random, VMS), wait: random() < 0.5 } : randomValue(random);
  return request;
}

function mutate(random: Random, bytes: Buffer): Buffer {
  const out = [...bytes];
  for (let n = 1 + Math.floor(random() * 5); n > 0; n -= 1) {
    const at = Math.floor(random() * (out.length + 1));
    const op = Math.floor(random() * 4);
    if (op === 0 && out.length > 0) out[Math.min(at, out.length - 1)]! ^= 1 << Math.floor(random() * 8);
    else if (op === 1) out.splice(at, 1);
    else if (op === 2) out.splice(at, 0, Math.floor(random() * 256));
    else out.splice(at, 0, ...out.slice(at, at + Math.floor(random() * 40)));
  }
  return Buffer.from(out);
}

/** One hostile payload: what to write, in how many chunks, and whether to end it with a newline. */
function payload(random: Random): Buffer {
  const kind = Math.floor(random() * 6);
  const line = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
  let body: Buffer;
  if (kind === 0) body = line(randomRequest(random));
  else if (kind === 1) body = mutate(random, line(randomRequest(random)));
  else if (kind === 2) body = Buffer.from(Array.from({ length: Math.floor(random() * 300) }, () => Math.floor(random() * 256)));
  else if (kind === 3) body = Buffer.concat([line({ v: 1, id: 1, cmd: 'status', args: { vm: 'fz0' } }).subarray(0, 20), Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80])]);
  else if (kind === 4) body = Buffer.alloc(64 * 1024 + Math.floor(random() * 1024 * 1024), pick(random, ['a', '{', '"', '\\']));
  else body = line(randomRequest(random)).subarray(0, Math.floor(random() * 30)); // a partial line
  if (body.includes('shutdown') || body.includes('probe')) body = Buffer.from('{}');
  return kind === 5 || random() < 0.1 ? body : Buffer.concat([body, Buffer.from('\n')]);
}

/** Writes the payload in random chunks, lingers a little, then drops the connection. */
function send(sockpath: string, random: Random, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.createConnection(sockpath);
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.on('close', () => resolve());
    socket.on('connect', async () => {
      for (let at = 0; at < bytes.length && !socket.destroyed;) {
        const size = 1 + Math.floor(random() * (random() < 0.5 ? 16 : 65536));
        socket.write(bytes.subarray(at, at + size));
        at += size;
        if (random() < 0.2) await new Promise((r) => setTimeout(r, 2));
      }
      setTimeout(() => socket.destroy(), 50 + Math.floor(random() * 150));
    });
  });
}

test('control protocol fuzz (seeded: random and mutated requests, partial, huge, invalid UTF-8, never-reading and silent clients): no crash, another client\'s status/start/stop unaffected', { timeout: 120_000 }, async (t) => {
  const env = createVmstatedEnv('vmstated-fuzz-');
  t.after(() => env.destroy());
  for (const name of ['probe', 'fz0', 'fz1']) env.writeVm(name);
  const daemonPid = await env.startDaemon();
  const random = seededRandom(SEED);

  const silent = await Promise.all(Array.from({ length: 20 }, () => new Promise<net.Socket>((resolve) => {
    const socket = net.createConnection(env.sockpath, () => resolve(socket));
    socket.on('error', () => {});
  })));
  const deaf = Array.from({ length: 3 }, () => {
    const socket = net.createConnection(env.sockpath);
    socket.on('error', () => {});
    socket.pause();
    const request = `${JSON.stringify({ v: 1, id: 1, cmd: 'status' })}\n`.repeat(500);
    socket.on('connect', () => { for (let i = 0; i < 20; i += 1) socket.write(request); });
    return socket;
  });
  t.after(() => { for (const socket of [...silent, ...deaf]) socket.destroy(); });

  let fuzzing = true;
  const observed: string[] = [];
  const observer = (async () => {
    const client = await env.client();
    let cycles = 0;
    while (fuzzing || cycles < 2) {
      try {
        const [status] = await client.request<VmStatus[]>('status', { vm: 'probe' }, { timeoutMs: 20_000 });
        assert.equal(status?.name, 'probe');
        await client.request('start', { vm: 'probe' }, { timeoutMs: 30_000 });
        await client.request('stop', { vm: 'probe' }, { timeoutMs: 30_000 });
      } catch (err) {
        observed.push((err as Error).message);
        break;
      }
      cycles += 1;
    }
    client.close();
    return cycles;
  })();

  const queue = Array.from({ length: PAYLOADS }, () => payload(random));
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) await send(env.sockpath, random, next);
  }));
  fuzzing = false;
  const cycles = await observer;

  assert.deepEqual(observed, [], 'the observing client was never disturbed');
  t.diagnostic(`${PAYLOADS} hostile payloads; the observer did ${cycles} status/start/stop cycles meanwhile`);
  assert.equal(isAlive(daemonPid), true, 'the daemon is alive');
  assert.equal((await env.status('probe')).state, 'stopped');
});
