/**
 * The metrics store (src/daemon/metrics.ts) fed by the events a registry broadcasts and read from
 * its records; the label mappings; the bhyve usage cache; `--metrics-listen`'s address; and the
 * `metrics` request's authorization through the real request handler.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { ConfigProblem, VmConfig } from '../../src/config/types.js';
import type { PeerCredentials } from '../../src/auth/peercred.js';
import { createRequestHandler } from '../../src/daemon/commands.js';
import type { DaemonControl } from '../../src/daemon/commands.js';
import { parseListenAddress } from '../../src/daemon/listen-address.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import type { MetricsSource } from '../../src/daemon/metrics.js';
import { EXIT_MEANINGS, configuredCpus, exitMeaning } from '../../src/daemon/metrics-labels.js';
import { CachedUsage } from '../../src/daemon/metrics-usage.js';
import type { Registry } from '../../src/daemon/registry.js';
import type { ParsedRequest, Session } from '../../src/daemon/server.js';
import { bareConfig, restingStatus } from '../../src/daemon/vm-entry.js';
import { VM_STATES } from '../../src/protocol/types.js';
import type { BhyveExit, VmEvent, VmStatus } from '../../src/protocol/types.js';
import type { ProcessSample } from '../../src/shared/usage.js';
import { describeExit, explainExit } from '../../workers/bhyve-exit.js';

interface FakeEntry {
  config: VmConfig;
  status: VmStatus;
}

class FakeSource implements MetricsSource {
  readonly entries = new Map<string, FakeEntry>();
  problems: ConfigProblem[] = [];
  readonly bus = new EventEmitter();

  add(name: string, config: Partial<VmConfig> = {}, status: Partial<VmStatus> = {}): FakeEntry {
    const full = { ...bareConfig(name, `/conf/${name}/config`), ...config };
    const entry = { config: full, status: { ...restingStatus(full), ...status } };
    this.entries.set(name, entry);
    return entry;
  }

  emit(event: VmEvent): void {
    this.bus.emit('event', event);
  }
}

const NOW = '2030-01-02T03:04:05.000Z';
const noUsage = new CachedUsage(async () => new Map());

/** The value of one series in the exposition text, or undefined when it is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function state(vm: string, to: VmStatus['state'], from: VmStatus['state'], reason: 'start' | 'reboot' | 'crash' | 'restart' | 'failure' = 'start'): VmEvent {
  return { type: 'state', vm, state: to, previous: from, reason, time: NOW };
}

test('exits are counted by a fixed set of meanings, from bhyve\'s exit status', () => {
  const table: Array<[BhyveExit, string]> = [
    [describeExit(0, null), 'reboot'],
    [describeExit(1, null), 'poweroff'],
    [explainExit(describeExit(1, null), ['vm_run error -1, errno 6']), 'error'],
    [describeExit(2, null), 'halt'],
    [describeExit(3, null), 'triple-fault'],
    [describeExit(4, null), 'error'],
    [describeExit(64, null), 'error'],
    [describeExit(71, null), 'error'],
    [describeExit(null, 'SIGKILL'), 'signal'],
    [describeExit(null, 'SIGABRT'), 'signal'],
    [describeExit(null, null), 'unknown'],
  ];
  for (const [exit, meaning] of table) assert.equal(exitMeaning(exit), meaning, JSON.stringify(exit));
  for (const [, meaning] of table) assert.ok((EXIT_MEANINGS as readonly string[]).includes(meaning));
});

test('configured vCPUs: cpus, else the topology the config sets, else unknown', () => {
  const base = bareConfig('a', '/c/a/config');
  assert.equal(configuredCpus({ ...base, cpus: 4 }), 4);
  assert.equal(configuredCpus({ ...base, sockets: 2, cores: 3 }), 6);
  assert.equal(configuredCpus(base), undefined);
});

test('--metrics-listen takes PORT, ADDR:PORT or [IPv6]:PORT; ADDR defaults to 127.0.0.1', () => {
  assert.deepEqual(parseListenAddress('10123'), { host: '127.0.0.1', port: 10123 });
  assert.deepEqual(parseListenAddress('0.0.0.0:9999'), { host: '0.0.0.0', port: 9999 });
  assert.deepEqual(parseListenAddress('[::1]:80'), { host: '::1', port: 80 });
  assert.deepEqual(parseListenAddress('metrics.example:1'), { host: 'metrics.example', port: 1 });
  for (const bad of ['', 'x', '0', '65536', ':80', '::1:80', '[nope]:80', '1.2.3.4:']) {
    assert.throws(() => parseListenAddress(bad), Error, bad);
  }
});

test('every state of every VM is a series, 1 for the current one; info, window and size come from the records', async () => {
  const source = new FakeSource();
  source.add('web', { owner: 'alice', os: 'freebsd', osversion: '14.1', memoryMiB: 2048, cpus: 2, autostart: true, maxrestart: 5 }, { state: 'running', restarts: 2, since: NOW });
  source.add('db');
  const text = await new DaemonMetrics(source, noUsage).exposition();
  for (const vm of ['web', 'db']) {
    const values = VM_STATES.map((name) => sample(text, `vmstated_vm_state{vm="${vm}",state="${name}"}`));
    assert.deepEqual(values.filter((value) => value === 1).length, 1, vm);
    assert.deepEqual(values.filter((value) => value === 0).length, VM_STATES.length - 1, vm);
  }
  assert.equal(sample(text, 'vmstated_vm_state{vm="web",state="running"}'), 1);
  assert.equal(sample(text, 'vmstated_vm_state{vm="db",state="stopped"}'), 1);
  assert.equal(sample(text, 'vmstated_vm_info{vm="web",owner="alice",group="",os="freebsd",osversion="14.1"}'), 1);
  assert.equal(sample(text, 'vmstated_vm_state_since_timestamp_seconds{vm="web"}'), Date.parse(NOW) / 1000);
  assert.equal(sample(text, 'vmstated_vm_restart_window_restarts{vm="web"}'), 2);
  assert.equal(sample(text, 'vmstated_vm_restart_window_max{vm="web"}'), 5);
  assert.equal(sample(text, 'vmstated_vm_autostart{vm="web"}'), 1);
  assert.equal(sample(text, 'vmstated_vm_autostart{vm="db"}'), 0);
  assert.equal(sample(text, 'vmstated_vm_configured_memory_bytes{vm="web"}'), 2048 * 1024 * 1024);
  assert.equal(sample(text, 'vmstated_vm_configured_cpus{vm="web"}'), 2);
  assert.equal(sample(text, 'vmstated_vm_configured_memory_bytes{vm="db"}'), undefined, 'not set: absent');
});

test('a scrape shows a changed record at once, though the text of unchanged families is kept', async () => {
  const source = new FakeSource();
  const web = source.add('web');
  source.add('db');
  const metrics = new DaemonMetrics(source, noUsage);
  assert.equal(sample(await metrics.exposition(), 'vmstated_vm_state{vm="web",state="stopped"}'), 1);
  const vmLines = (text: string): string => text.split('\n').filter((line) => line.includes('vm="')).join('\n');
  assert.equal(vmLines(await metrics.exposition()), vmLines(await metrics.exposition()), 'nothing changed: the same series');
  web.status = { ...web.status, state: 'running', restarts: 1 };
  const text = await metrics.exposition();
  assert.equal(sample(text, 'vmstated_vm_state{vm="web",state="running"}'), 1);
  assert.equal(sample(text, 'vmstated_vm_state{vm="web",state="stopped"}'), 0);
  assert.equal(sample(text, 'vmstated_vm_restart_window_restarts{vm="web"}'), 1);
  source.add('new');
  assert.equal(sample(await metrics.exposition(), 'vmstated_vm_state{vm="new",state="stopped"}'), 1, 'a VM added by a reload');
});

test('events count restarts by reason, failures, exits by meaning and hook runs; counters start at 0', async () => {
  const source = new FakeSource();
  source.add('web');
  const metrics = new DaemonMetrics(source, noUsage);
  let text = await metrics.exposition();
  assert.equal(sample(text, 'vmstated_vm_restarts_total{vm="web",reason="crash"}'), 0);
  assert.equal(sample(text, 'vmstated_vm_exits_total{vm="web",meaning="triple-fault"}'), 0);
  assert.equal(sample(text, 'vmstated_vm_failures_total{vm="web"}'), 0);

  source.emit(state('web', 'restarting', 'running', 'reboot'));
  source.emit(state('web', 'restarted', 'restarting', 'reboot'));
  source.emit(state('web', 'restarted', 'restarted', 'reboot')); // a repeated announcement, not a restart
  source.emit(state('web', 'restarted', 'restarting', 'crash'));
  source.emit(state('web', 'restarted', 'restarting', 'restart'));
  source.emit({ type: 'exit', vm: 'web', exit: describeExit(3, null), pid: 5, time: NOW });
  source.emit({ type: 'exit', vm: 'web', exit: describeExit(null, 'SIGKILL'), pid: 6, time: NOW });
  source.emit(state('web', 'failed', 'stop_network', 'failure'));
  source.emit({ type: 'hook', vm: 'web', hook: 'start_network', exitCode: 0, signal: null, durationMs: 300, ok: true, time: NOW });
  source.emit({ type: 'hook', vm: 'web', hook: 'start_network', exitCode: 1, signal: null, durationMs: 1500, ok: false, time: NOW });
  source.emit({ type: 'hook', vm: 'web', hook: 'stopped', exitCode: 0, signal: null, durationMs: 50, ok: true, time: NOW });
  text = await metrics.exposition();
  assert.equal(sample(text, 'vmstated_vm_restarts_total{vm="web",reason="reboot"}'), 1);
  assert.equal(sample(text, 'vmstated_vm_restarts_total{vm="web",reason="crash"}'), 1);
  assert.equal(sample(text, 'vmstated_vm_restarts_total{vm="web",reason="restart"}'), 1);
  assert.equal(sample(text, 'vmstated_vm_exits_total{vm="web",meaning="triple-fault"}'), 1);
  assert.equal(sample(text, 'vmstated_vm_exits_total{vm="web",meaning="signal"}'), 1);
  assert.equal(sample(text, 'vmstated_vm_exits_total{vm="web",meaning="reboot"}'), 0);
  assert.equal(sample(text, 'vmstated_vm_failures_total{vm="web"}'), 1);
  assert.equal(sample(text, 'vmstated_hook_failures_total{vm="web",hook="start_network"}'), 1);
  assert.equal(sample(text, 'vmstated_hook_failures_total{vm="web",hook="stopped"}'), 0, 'a hook that ran has its failure series at 0');
  assert.equal(sample(text, 'vmstated_hook_duration_seconds_count{vm="web",hook="start_network"}'), 2);
  assert.equal(sample(text, 'vmstated_hook_duration_seconds_sum{vm="web",hook="start_network"}'), 1.8);
  assert.equal(sample(text, 'vmstated_hook_duration_seconds_bucket{le="0.5",vm="web",hook="start_network"}'), 1);

  source.entries.delete('web');
  source.emit({ type: 'vm-removed', vm: 'web', time: NOW });
  text = await metrics.exposition();
  assert.doesNotMatch(text, /vm="web"/, 'a removed VM leaves no series behind');
});

test('config problems by severity, the last load without errors, requests by command and code', async () => {
  const source = new FakeSource();
  const metrics = new DaemonMetrics(source, noUsage);
  let text = await metrics.exposition();
  assert.equal(sample(text, 'vmstated_config_last_reload_success_timestamp_seconds'), 0, 'no load yet');
  metrics.configLoaded(Date.parse(NOW));
  source.problems = [
    { severity: 'error', file: '/c/a/config', line: 1, column: 1, message: 'bad', kind: 'UCL syntax error' },
    { severity: 'warning', file: '/c/b/config', line: 2, column: 3, message: 'odd', kind: 'unknown key' },
    { severity: 'warning', file: '/c/b/config', line: 4, column: 3, message: 'odd', kind: 'unknown key' },
  ];
  source.emit({ type: 'config', problems: 3, time: '2031-01-01T00:00:00.000Z' });
  metrics.countRequest('status', 'ok');
  metrics.countRequest('status', 'ok');
  metrics.countRequest('start', 'NOT_FOUND');
  metrics.countRequest(null, 'BAD_REQUEST');
  text = await metrics.exposition();
  assert.equal(sample(text, 'vmstated_config_problems{severity="error"}'), 1);
  assert.equal(sample(text, 'vmstated_config_problems{severity="warning"}'), 2);
  assert.equal(sample(text, 'vmstated_config_last_reload_success_timestamp_seconds'), Date.parse(NOW) / 1000, 'a reload with errors is no success');
  assert.equal(sample(text, 'vmstated_requests_total{cmd="status",code="ok"}'), 2);
  assert.equal(sample(text, 'vmstated_requests_total{cmd="start",code="NOT_FOUND"}'), 1);
  assert.equal(sample(text, 'vmstated_requests_total{cmd="invalid",code="BAD_REQUEST"}'), 1);
  assert.ok(sample(text, 'vmstated_process_cpu_seconds_total')! > 0, "the daemon's own process metrics, prefixed");
});

test('bhyve CPU and memory come from the sampler for running VMs only, and a fast scraper reuses one reading', async () => {
  const source = new FakeSource();
  source.add('web', {}, { state: 'running', pid: 4242 });
  source.add('db');
  let readings = 0;
  const asked: number[][] = [];
  const sampler = async (pids: readonly number[]): Promise<Map<number, ProcessSample>> => {
    readings += 1;
    asked.push([...pids]);
    return new Map([[4242, { pid: 4242, cpuSeconds: 12.5, rssBytes: 1 << 20, takenAtMs: 0 }]]);
  };
  const metrics = new DaemonMetrics(source, new CachedUsage(sampler, { maxAgeMs: 60_000 }));
  const texts = await Promise.all([metrics.exposition(), metrics.exposition(), metrics.exposition()]);
  assert.equal(readings, 1, 'three scrapes at once, one reading');
  assert.deepEqual(asked, [[4242]]);
  for (const text of texts) {
    assert.equal(sample(text, 'vmstated_vm_cpu_seconds_total{vm="web"}'), 12.5);
    assert.equal(sample(text, 'vmstated_vm_resident_memory_bytes{vm="web"}'), 1 << 20);
    assert.equal(sample(text, 'vmstated_vm_cpu_seconds_total{vm="db"}'), undefined);
  }
  await metrics.exposition();
  assert.equal(readings, 1, 'a reading younger than maxAgeMs is reused');
});

test('a sampler that hangs delays a scrape only briefly: the last readings stand in', async () => {
  let clock = 0;
  let calls = 0;
  const first = new Map([[7, { pid: 7, cpuSeconds: 1, rssBytes: 2, takenAtMs: 0 }]]);
  const usage = new CachedUsage(
    async () => {
      calls += 1;
      return calls === 1 ? first : new Promise<never>(() => {});
    },
    { maxAgeMs: 10, staleWaitMs: 5, now: () => clock },
  );
  assert.equal(await usage.read([7]), first);
  clock = 100;
  assert.equal(await usage.read([7]), first, 'stale readings once the new one is overdue');
  assert.equal(await usage.read([7]), first);
  assert.equal(calls, 2, 'the hung reading is not started again');
});

test('metrics over the socket: root sees everything, another user only the series of their VMs', async () => {
  const nobody = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
  const source = new FakeSource();
  source.add('mine', { owner: 'nobody' });
  source.add('theirs');
  const metrics = new DaemonMetrics(source, noUsage);
  const registry = { get: (name: string) => source.entries.get(name), entries: source.entries, log: { info() {}, error() {} } };
  const handle = createRequestHandler({ registry: registry as unknown as Registry, metrics, logdir: '/nonexistent' } as unknown as DaemonControl);
  const ask = async (peer: PeerCredentials): Promise<string> => {
    const sent: unknown[] = [];
    const session: Session = { peer, send: (message) => sent.push(message) > 0, onClose: () => {}, openStream: () => () => {}, claimReplyBudget: () => () => {}, closed: false, ready: true, whenDrained: async () => {} };
    const request: ParsedRequest = { v: 1, id: 1, cmd: 'metrics', args: {} };
    await handle(request, session);
    const reply = sent[0] as { ok: boolean; result: { text: string; contentType: string } };
    assert.equal(reply.ok, true);
    assert.match(reply.result.contentType, /^text\/plain; version=0\.0\.4/);
    return reply.result.text;
  };
  await ask({ uid: 0, gid: 0, groups: [0] });
  const asRoot = await ask({ uid: 0, gid: 0, groups: [0] });
  assert.match(asRoot, /vm="mine"/);
  assert.match(asRoot, /vm="theirs"/);
  assert.match(asRoot, /^vmstated_requests_total\{cmd="metrics",code="ok"\} 1$/m, 'the request before counted');
  const asNobody = await ask({ uid: nobody, gid: nobody, groups: [] });
  assert.match(asNobody, /^vmstated_vm_state\{vm="mine",state="stopped"\} 1$/m);
  assert.doesNotMatch(asNobody, /theirs/);
  assert.doesNotMatch(asNobody, /vmstated_requests_total|vmstated_config_|vmstated_unread_reply_bytes|vmstated_process_/, "no daemon-wide series");
  assert.match(asNobody, /^# TYPE vmstated_vm_exits_total counter$/m, 'the same families, filtered');
});
