/**
 * `vmstated --metrics-listen` through the real daemon and simulator: GET and HEAD /metrics, 404
 * and 405 for the rest, text that `promtool check metrics` accepts, `vmstatedctl metrics` with the
 * same families, and a port that cannot be bound is a startup error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ctl } from '../e2e/ctl.js';
import { createVmstatedEnv } from '../helpers/vmstated-env.js';
import { families, freePort, prometheusProgram, runProgram } from './tools.js';

test('the metrics listener serves GET and HEAD /metrics only; vmstatedctl metrics prints the same families', async (t) => {
  const env = createVmstatedEnv('vmstated-metrics-');
  t.after(() => env.destroy());
  env.writeVm('web', { memory: '512M', cpus: 2, owner: 'nobody' }, { hooks: { start_network: 'exit 0' } });
  env.writeVm('db', { autostart: false });
  const port = await freePort();
  await env.startDaemon(['--metrics-listen', String(port)]);
  assert.equal((await ctl(env, 'start', 'web')).status, 0);
  const url = `http://127.0.0.1:${port}/metrics`;

  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4; charset=utf-8$/);
  const text = await response.text();
  assert.match(text, /^vmstated_vm_state\{vm="web",state="running"\} 1$/m);
  assert.match(text, /^vmstated_vm_state\{vm="db",state="stopped"\} 1$/m);
  assert.match(text, /^vmstated_vm_info\{vm="web",owner="nobody",group="",os="",osversion=""\} 1$/m);
  assert.match(text, /^vmstated_vm_configured_memory_bytes\{vm="web"\} 536870912$/m);
  assert.match(text, /^vmstated_hook_duration_seconds_count\{vm="web",hook="start_network"\} 1$/m);
  assert.match(text, /^vmstated_vm_resident_memory_bytes\{vm="web"\} [1-9]\d*$/m, "the simulated bhyve's memory");
  assert.match(text, /^vmstated_requests_total\{cmd="start",code="ok"\} 1$/m);

  const head = await fetch(url, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
  const post = await fetch(url, { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  for (const other of ['/', '/metrics/', '/debug', '/metricsx']) {
    assert.equal((await fetch(`http://127.0.0.1:${port}${other}`)).status, 404, other);
  }
  assert.equal((await fetch(`${url}?name[]=x`)).status, 200, 'query parameters (Prometheus params) are ignored');

  const printed = await ctl(env, 'metrics');
  assert.equal(printed.status, 0, printed.stderr);
  assert.deepEqual(families(printed.stdout), families(text));
  assert.match(printed.stdout, /^vmstated_vm_state\{vm="web",state="running"\} 1$/m);

  const promtool = prometheusProgram(t, 'promtool');
  if (promtool === null) return;
  const lint = await runProgram(promtool, ['check', 'metrics'], { input: text });
  assert.equal(lint.status, 0, `promtool check metrics: ${lint.stdout}${lint.stderr}`);
});

test('a metrics port that cannot be bound is a startup error with the address in it', async (t) => {
  const env = createVmstatedEnv('vmstated-metrics-busy-');
  t.after(() => env.destroy());
  env.writeVm('web');
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => taken.close());
  const { port } = taken.address() as net.AddressInfo;
  const result = await env.runVmstated(['--metrics-listen', `127.0.0.1:${port}`]);
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, new RegExp(`cannot listen for metrics on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  assert.equal(env.daemonPid(), null, 'no pid file left behind');
});
