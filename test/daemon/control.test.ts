import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { BHYVECTL_SIM_BIN } from '../helpers/paths.js';
import { ControlClient, ControlError } from '../../src/protocol/client.js';
import type { VmEvent, VmStatus } from '../../src/protocol/types.js';
import { reachableCopy } from '../helpers/reachable.js';
import { createVmstatedEnv, waitFor } from '../helpers/vmstated-env.js';
import type { VmstatedEnv } from '../helpers/vmstated-env.js';

/** A raw connection to the control socket: send lines, read reply lines. */
async function rawConnection(env: VmstatedEnv): Promise<{ socket: net.Socket; lines: string[]; next(): Promise<Record<string, unknown>> }> {
  const socket = net.connect(env.sockpath);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const lines: string[] = [];
  let buffered = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
  });
  return {
    socket,
    lines,
    next: () => waitFor('a reply line', () => (lines.length > 0 ? (JSON.parse(lines.shift()!) as Record<string, unknown>) : undefined), 5000),
  };
}

async function expectError(promise: Promise<unknown>, code: string): Promise<ControlError> {
  const err = await promise.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ControlError, String(err));
  assert.equal(err.code, code, err.message);
  return err;
}

test('status, start, stop, restart and failreset through the socket', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('web', { description: 'front end', os: 'freebsd' });
  env.writeVm('crashy', { maxrestart: 1, maxrestarttime: '1min' }, { bhyveLines: ['sim.guest=triplefault@200ms'] });
  await env.startDaemon();
  const client = await ControlClient.connect(env.sockpath);
  t.after(() => client.close());

  const all = await client.request<VmStatus[]>('status');
  assert.deepEqual(all.map((s) => s.name).sort(), ['crashy', 'web']);
  const web = all.find((s) => s.name === 'web')!;
  assert.equal(web.state, 'stopped');
  assert.equal(web.pid, null);
  assert.equal(web.description, 'front end');
  assert.equal(web.os, 'freebsd');
  assert.equal(web.autostart, false);
  assert.ok(!Number.isNaN(Date.parse(web.since)));

  const started = await client.request<{ ok: boolean; status: VmStatus }>('start', { vm: 'web' });
  assert.equal(started.status.state, 'running');
  assert.ok(started.status.pid !== null && started.status.workerPid !== null);
  const [running] = await client.request<VmStatus[]>('status', { vm: 'web' });
  assert.equal(running!.pid, started.status.pid);

  const top = await client.request<Array<{ name: string; state: string; pid: number | null; workerPid: number | null }>>('top');
  assert.deepEqual(top.find((entry) => entry.name === 'web'), { name: 'web', state: 'running', pid: started.status.pid, workerPid: started.status.workerPid });
  assert.ok(top.filter((entry) => entry.name !== 'web').every((entry) => entry.pid === null && entry.workerPid === null), 'stopped VMs too, without pids');

  // logs: the last lines of the VM log; follow streams new ones (here a guest console line).
  const { lines } = await client.request<{ lines: string[] }>('logs', { vm: 'web', n: 3 });
  assert.ok(lines.length > 0 && lines.length <= 3, JSON.stringify(lines));
  const follower = await ControlClient.connect(env.sockpath);
  const followed: string[] = [];
  void follower.request('logs', { vm: 'web', n: 0, follow: true }, { onData: (data) => followed.push(...(data as { lines: string[] }).lines) }).catch(() => {});
  let simProblem = '';
  await waitFor('the console line in the followed log', async () => {
    const console = spawnSync(process.execPath, [BHYVECTL_SIM_BIN, '--vm=web', '--sim-console=hello from the guest'], { env: env.env, encoding: 'utf8' });
    if (console.status !== 0) simProblem = `bhyvectl-sim exited ${console.status}: ${console.stderr}`;
    return followed.some((line) => line.includes('hello from the guest')) ? true : undefined;
  }, 10_000).catch((err: Error) => assert.fail(`${err.message} ${simProblem}`));
  follower.close();

  const restarted = await client.request<{ status: VmStatus }>('restart', { vm: 'web' });
  assert.equal(restarted.status.state, 'running');
  assert.notEqual(restarted.status.pid, started.status.pid, 'a new bhyve after restart');

  const stopped = await client.request<{ status: VmStatus }>('stop', { vm: 'web' });
  assert.equal(stopped.status.state, 'stopped');
  assert.equal(stopped.status.pid, null);
  await waitFor('the released worker to go', () => {
    try {
      process.kill(restarted.status.workerPid!, 0);
      return undefined;
    } catch {
      return true;
    }
  });

  await expectError(client.request('failreset', { vm: 'web' }), 'INVALID_STATE');
  await expectError(client.request('start', { vm: 'nosuch' }), 'NOT_FOUND');

  // A guest that keeps crashing: the restart window puts it into failure mode.
  await client.request('start', { vm: 'crashy' }, {}).catch(() => {});
  const failed = await env.waitForStatus('crashy', (s) => s.state === 'failed' && s.workerPid === null);
  assert.ok(failed.failureReason !== null);
  const refused = await expectError(client.request('start', { vm: 'crashy' }), 'INVALID_STATE');
  assert.match(refused.message, /^request \S+ \(start\): VM "crashy": in failure mode \(.+\); run failreset first$/, 'a raw client sees which VM and why');
  const reset = await client.request<{ status: VmStatus }>('failreset', { vm: 'crashy' });
  assert.equal(reset.status.state, 'stopped');
  assert.equal((await env.status('crashy')).state, 'stopped');
});

test('start with wait false replies at once; events stream the transitions', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('web');
  await env.startDaemon();
  const watcher = await ControlClient.connect(env.sockpath);
  t.after(() => watcher.close());
  const events: VmEvent[] = [];
  void watcher.events((event) => events.push(event));
  await waitFor('the subscription', async () => {
    // The subscription is live once a round trip on another connection has passed after it.
    const probe = await ControlClient.connect(env.sockpath);
    await probe.request('status');
    probe.close();
    return true;
  });

  const client = await ControlClient.connect(env.sockpath);
  t.after(() => client.close());
  const reply = await client.request<{ status: VmStatus }>('start', { vm: 'web', wait: false });
  assert.equal(reply.status.state, 'stopped', 'the reply came before the start');
  await env.waitForStatus('web', (s) => s.state === 'running');
  const states = await waitFor('the running event', () =>
    events.some((e) => e.type === 'state' && e.state === 'running') ? events.filter((e) => e.type === 'state').map((e) => (e as { state: string }).state) : undefined,
  );
  assert.deepEqual(states.slice(0, 3), ['start_network', 'start_storage', 'running']);
  assert.ok(events.some((e) => e.type === 'launch' && e.vm === 'web'));
});

test('malformed, oversized and invalid UTF-8 input get error replies and never disturb another client', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('web');
  env.writeVm('private');
  await env.startDaemon();
  const good = await ControlClient.connect(env.sockpath);
  t.after(() => good.close());

  // A client that sends half a line and then nothing: it must hold up nobody.
  const silent = await rawConnection(env);
  t.after(() => silent.socket.destroy());
  silent.socket.write('{"v":1,"id":1,"cmd":"sta');

  const bad = await rawConnection(env);
  t.after(() => bad.socket.destroy());
  const cases: Array<[string | Buffer, string, unknown]> = [
    ['not json\n', 'BAD_REQUEST', null],
    ['[1,2]\n', 'BAD_REQUEST', null],
    ['{"v":1,"id":5,"cmd":"frobnicate"}\n', 'UNKNOWN_COMMAND', 5],
    ['{"v":2,"id":6,"cmd":"status"}\n', 'BAD_REQUEST', 6],
    ['{"v":1,"id":7,"cmd":"start"}\n', 'BAD_REQUEST', 7],
    [Buffer.concat([Buffer.from('{"v":1,"id":8,"cmd":"status","x":"'), Buffer.alloc(70 * 1024, 0x61), Buffer.from('"}\n')]), 'BAD_REQUEST', null],
    [Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), 'BAD_REQUEST', null],
  ];
  for (const [line, code, id] of cases) {
    bad.socket.write(line);
    const reply = await bad.next();
    assert.equal(reply.ok, false, String(line).slice(0, 60));
    assert.equal(reply.id, id);
    assert.equal((reply.error as { code: string }).code, code, String(line).slice(0, 60));
    assert.equal((await good.request<VmStatus[]>('status')).length, 2, 'the other client is served meanwhile');
  }
  // The same connection still works after all that, with several requests in flight.
  bad.socket.write('{"v":1,"id":"a","cmd":"status"}\n{"v":1,"id":"b","cmd":"problems"}\n');
  const replies = [await bad.next(), await bad.next()];
  assert.deepEqual(replies.map((r) => [r.id, r.ok]).sort(), [['a', true], ['b', true]]);
  await env.waitForStatus('web', (s) => s.state === 'stopped');

  // A client that sends a flood of requests and never reads a reply is cut off; others go on.
  const deaf = net.connect(env.sockpath);
  deaf.on('error', () => {});
  t.after(() => deaf.destroy());
  deaf.pause();
  await new Promise((resolve) => deaf.once('connect', resolve));
  deaf.write('{"v":1,"id":1,"cmd":"status"}\n'.repeat(20_000));
  await waitFor('the deaf client to be cut off', () => (/does not read its replies/.test(env.daemonLog()) ? true : undefined), 20_000);
  assert.equal((await good.request<VmStatus[]>('status')).length, 2);

  // `printf '...' | nc -N -U`: the client ends its side at once and still gets every reply.
  const oneShot = net.connect({ path: env.sockpath, allowHalfOpen: true });
  let received = '';
  oneShot.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  const ended = new Promise((resolve) => oneShot.once('end', resolve));
  oneShot.end('{"v":1,"id":1,"cmd":"status"}\n{"v":1,"id":2,"cmd":"stop","args":{"vm":"web"}}\n');
  await ended;
  oneShot.destroy();
  const oneShotReplies = received.trim().split('\n').map((line) => JSON.parse(line) as { id: number; ok: boolean });
  assert.deepEqual(oneShotReplies.map((r) => [r.id, r.ok]).sort(), [[1, true], [2, true]]);
});

test('authorization by peer credentials: an owner sees only its VMs; reload and shutdown are root\'s', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  fs.chmodSync(env.dir, 0o755); // nobody must reach the socket inside the (0700) temp dir
  env.writeVm('mine', { owner: 'nobody' });
  env.writeVm('theirs');
  await env.startDaemon();
  const { clientModule } = reachableCopy(); // nobody may not reach the checkout
  const script = `
    const { ControlClient } = await import(${JSON.stringify(clientModule)});
    const c = await ControlClient.connect(${JSON.stringify(env.sockpath)});
    const out = {};
    out.status = (await c.request('status')).map((s) => s.name);
    for (const [name, cmd, args] of [['theirs', 'start', { vm: 'theirs' }], ['reload', 'reload', {}], ['shutdown', 'shutdown', {}], ['mine', 'status', { vm: 'mine' }]]) {
      out[name] = await c.request(cmd, args).then((r) => 'ok', (e) => e.code);
    }
    c.close();
    console.log(JSON.stringify(out));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), { status: ['mine'], theirs: 'NOT_FOUND', reload: 'FORBIDDEN', shutdown: 'FORBIDDEN', mine: 'ok' });
});
