/**
 * End to end with a real Prometheus (Debian's): it scrapes the daemon's metrics listener every
 * second with the shipped alert rules loaded, and its HTTP API shows a running VM as running and
 * fires VmstatedVmFailed for a VM the simulated guest drove into failure mode. Prometheus runs on
 * its own free port with its own data directory, so no system Prometheus is touched.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ctl } from '../e2e/ctl.js';
import { BHYVECTL_SIM_BIN } from '../helpers/paths.js';
import { runNode } from '../helpers/run.js';
import { createVmstatedEnv, waitFor } from '../helpers/vmstated-env.js';
import type { VmstatedEnv } from '../helpers/vmstated-env.js';
import { DASHBOARD_FILE, RULES_FILE, freePort, prometheusProgram } from './tools.js';

const DEADLINE_MS = 30_000;

interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
}

/** Starts Prometheus scraping `target` every second; resolves once it is ready, with its API base URL. */
async function startPrometheus(t: TestContext, binary: string, env: VmstatedEnv, target: string): Promise<string> {
  const dir = path.join(env.dir, 'prometheus');
  fs.mkdirSync(dir);
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      `  - ${JSON.stringify(RULES_FILE)}`,
      'scrape_configs:',
      '  - job_name: vmstated',
      '    static_configs:',
      `      - targets: [${JSON.stringify(target)}]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    binary,
    [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.after(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(
    'Prometheus to be ready',
    async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${stderr}`);
      const ready = await fetch(`${base}/-/ready`).catch(() => null);
      return ready?.status === 200 ? true : undefined;
    },
    DEADLINE_MS,
  );
  return base;
}

async function api<T>(base: string, pathAndQuery: string): Promise<T> {
  const response = await fetch(`${base}${pathAndQuery}`);
  const body = (await response.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${pathAndQuery}: ${body.error ?? response.status}`);
  return body.data;
}

test('Prometheus scrapes vmstated, sees a running VM and fires the failure alert for a failed one', async (t) => {
  const prometheus = prometheusProgram(t, 'prometheus');
  if (prometheus === null) return;
  const env = createVmstatedEnv('vmstated-prometheus-');
  t.after(() => env.destroy());
  env.writeVm('web');
  env.writeVm('flaky', { maxrestart: 1, maxrestarttime: '5min' });
  const port = await freePort();
  await env.startDaemon(['--metrics-listen', `127.0.0.1:${port}`]);
  for (const vm of ['web', 'flaky']) assert.equal((await ctl(env, 'start', vm)).status, 0);
  const base = await startPrometheus(t, prometheus, env, `127.0.0.1:${port}`);

  const running = encodeURIComponent('vmstated_vm_state{vm="web",state="running"} == 1');
  await waitFor('Prometheus to have web as running', async () => {
    const data = await api<{ result: Array<{ metric: Record<string, string> }> }>(base, `/api/v1/query?query=${running}`);
    return data.result.length === 1 && data.result[0]!.metric.job === 'vmstated' ? true : undefined;
  }, DEADLINE_MS);

  // Two guest reboots with maxrestart 1: the second is one restart too many. A bhyve just
  // relaunched may not have its simulated instance yet: bhyvectl is then asked again.
  const reboot = (): Promise<true> =>
    waitFor('the guest of flaky to take a reboot', async () => {
      const result = await runNode(BHYVECTL_SIM_BIN, ['--vm=flaky', '--sim-guest=reboot'], { env: env.env, timeoutMs: 10_000 });
      if (result.status === 0) return true;
      if (/is not created|has no running bhyve/.test(result.stdout + result.stderr)) return undefined;
      throw new Error(`bhyvectl exited ${result.status}: ${result.stdout}${result.stderr}`);
    });
  await reboot();
  await env.waitForStatus('flaky', (status) => status.state === 'running' && status.restarts === 1);
  await reboot();
  await env.waitForStatus('flaky', (status) => status.state === 'failed');

  const alert = await waitFor('VmstatedVmFailed to fire for flaky', async () => {
    const data = await api<{ alerts: Alert[] }>(base, '/api/v1/alerts');
    return data.alerts.find((candidate) => candidate.labels.alertname === 'VmstatedVmFailed' && candidate.state === 'firing');
  }, DEADLINE_MS);
  assert.equal(alert.labels.vm, 'flaky');
  assert.equal(alert.labels.severity, 'critical');
  assert.match(alert.annotations.description ?? '', /`vmstatedctl status flaky`/);
  const data = await api<{ alerts: Alert[] }>(base, '/api/v1/alerts');
  assert.deepEqual(data.alerts.filter((candidate) => candidate.labels.vm === 'web'), [], 'nothing fires for the running VM');

  // The Grafana dashboard shipped beside the rules: every query is PromQL this Prometheus runs,
  // over metrics the daemon serves.
  const served = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD_FILE, 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
  for (const panel of dashboard.panels) {
    for (const { expr } of panel.targets) {
      const query = expr.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*');
      await assert.doesNotReject(api(base, `/api/v1/query?query=${encodeURIComponent(query)}`), `${panel.title}: ${query}`);
      for (const name of expr.match(/\bvmstated_[a-z0-9_]+/g) ?? []) {
        const family = name.replace(/_(bucket|sum|count)$/, '');
        assert.match(served, new RegExp(`^# TYPE (${name}|${family} histogram)`, 'm'), `${panel.title}: ${name} is served`);
      }
    }
  }
});
