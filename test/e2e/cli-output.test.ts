/**
 * What vmstatedctl says after each command, through the real daemon, vmstatedctl and the bhyve
 * simulator: reload's one sentence and exit status, a VM's own config problems in `status <vm>`,
 * restart applying a changed config, a forced power-off named by stop, and a daemon log without
 * empty fields.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { simBhyvectlPath } from '../../src/bhyvesim/paths.js';
import { createVmstatedEnv, waitFor } from '../helpers/vmstated-env.js';
import { ctl, ctlStatus } from './ctl.js';

type TestContext = { after(fn: () => void | Promise<void>): void };

async function daemonWith(t: TestContext, writeVms: (env: ReturnType<typeof createVmstatedEnv>) => void) {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  writeVms(env);
  await env.startDaemon();
  return env;
}

async function ctlOk(env: ReturnType<typeof createVmstatedEnv>, ...args: string[]) {
  const result = await ctl(env, ...args);
  assert.equal(result.status, 0, `vmstatedctl ${args.join(' ')}: ${result.stdout}${result.stderr}`);
  return result;
}

/** Waits until the simulated guest's boot number `boot` takes SIGTERM as the power button (before that, SIGTERM kills bhyve). */
function acpiEnabled(env: ReturnType<typeof createVmstatedEnv>, vm: string, boot: number): Promise<true> {
  return waitFor(`${vm}: ACPI enabled`, () => ((env.vmLog(vm).match(/ACPI enabled/g) ?? []).length >= boot ? true : undefined));
}

test('stop names a forced power-off in its last line and in its JSON', async (t) => {
  // A guest that ignores the ACPI power button: the power-off is forced after stoptimeout.
  const env = await daemonWith(t, (env) => env.writeVm('web', { stoptimeout: '1s' }, { bhyveLines: ['sim.guest=hang'] }));
  await ctlOk(env, 'start', 'web');
  await acpiEnabled(env, 'web', 1);
  const text = await ctlOk(env, 'stop', 'web');
  assert.equal(text.stdout.trimEnd().split('\n').at(-1), 'web: stopped; forced power-off after 1 s (stoptimeout)');

  await ctlOk(env, 'start', 'web');
  await acpiEnabled(env, 'web', 2);
  const json = await ctlOk(env, '--json', 'stop', 'web');
  assert.deepEqual(JSON.parse(json.stdout), [{ vm: 'web', ok: true, state: 'stopped', error: null, forced: 'forced power-off after 1 s (stoptimeout)' }]);
  const again = await ctlOk(env, '--json', 'stop', 'web');
  assert.equal((JSON.parse(again.stdout) as [{ forced?: string }])[0].forced, undefined, 'nothing forced: no field');
});

test('stop names a failed bhyvectl --destroy in its last line and in its JSON: the VM stopped, its memory may stay reserved', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  // The simulator's bhyvectl, except that --destroy fails while the flag file exists.
  const flag = path.join(env.dir, 'destroy-fails');
  const bhyvectl = path.join(env.dir, 'bhyvectl-busy');
  fs.writeFileSync(bhyvectl, `#!/bin/sh
case "$*" in *--destroy*) if [ -f '${flag}' ]; then echo "vm_destroy: Device busy" >&2; exit 1; fi ;; esac
exec '${simBhyvectlPath()}' "$@"
`, { mode: 0o755 });
  env.writeVm('web');
  await env.startDaemon(['--bhyvectl', bhyvectl]);
  await ctlOk(env, 'start', 'web');
  fs.writeFileSync(flag, '');
  const destroyFailed = "bhyvectl --destroy failed: exited 1: vm_destroy: Device busy (the VM's memory may stay reserved)";
  const text = await ctlOk(env, 'stop', 'web');
  assert.equal(text.stdout.trimEnd().split('\n').at(-1), `web: stopped; ${destroyFailed}`);
  fs.rmSync(flag);
  await ctlOk(env, 'start', 'web');
  fs.writeFileSync(flag, '');
  const json = await ctlOk(env, '--json', 'stop', 'web');
  assert.deepEqual(JSON.parse(json.stdout), [{ vm: 'web', ok: true, state: 'stopped', error: null, destroyFailed }]);
});

test('reload says in one sentence what happened; status <vm> shows that VM\'s config problems', async (t) => {
  const env = await daemonWith(t, (env) => {
    env.writeVm('web');
    env.writeVm('db');
  });
  await ctlOk(env, 'start', 'web');
  fs.writeFileSync(path.join(env.configdir, 'web', 'config'), 'web { cpus = "lots"; configfile = bhyve_config; }\n');
  env.writeVm('db', { description: 'the database' });
  env.writeVm('mail');
  const reload = await ctl(env, 'reload');
  assert.equal(reload.status, 1, 'an error in a config: exit 1');
  assert.equal(reload.stdout, 'reloaded: 1 added (mail), 1 changed (db); 1 error: web keeps its last good config\n');
  assert.match(reload.stderr, /^vmstatedctl: .*\/web\/config:1:\d+: error: cpus must be/);

  const web = await ctlOk(env, 'status', 'web');
  assert.match(web.stdout, /^web\s+running/m);
  assert.match(web.stdout, /^web: its config has errors; vmstated keeps its last good config until they are fixed and it reloads$/m);
  assert.match(web.stdout, /^Config problems of web:\n {2}\S+\/web\/config:1:\d+: error: cpus must be/m);
  const db = await ctlOk(env, 'status', 'db');
  assert.doesNotMatch(db.stdout, /Config problems/, 'another VM\'s problems are not shown');

  fs.mkdirSync(path.join(env.configdir, 'broken'));
  fs.writeFileSync(path.join(env.configdir, 'broken', 'config'), 'broken { cpus = ;\n');
  const json = await ctl(env, '--json', 'reload');
  assert.equal(json.status, 1);
  const summary = JSON.parse(json.stdout) as Record<string, unknown>;
  assert.deepEqual([summary.added, summary.changed, summary.kept, summary.rejected, summary.errors],
    [[], [], ['web'], [path.join(env.configdir, 'broken', 'config')], 2]);

  fs.rmSync(path.join(env.configdir, 'broken'), { recursive: true });
  env.writeVm('web');
  const clean = await ctlOk(env, 'reload');
  assert.equal(clean.stdout, 'reloaded: no change\n', 'the good config is the one web runs with');
  assert.equal(clean.stderr, '');

  // The daemon log carries no empty fields (`"args":{}`), and the asking process's pid does not
  // hide the daemon's own (`pid` twice in one JSON object: readers keep the last).
  const requested = env.daemonLog().split('\n').filter((line) => line.includes('"reload requested"'));
  assert.equal(requested.length, 3);
  for (const line of requested) {
    assert.doesNotMatch(line, /"args"/, line);
    assert.equal(line.match(/"pid":/g)?.length, 1, line);
    const record = JSON.parse(line) as { pid: number; peerPid: number };
    assert.equal(record.pid, env.daemonPid());
    assert.equal(typeof record.peerPid, 'number');
  }
});

test('restart applies a config changed while the VM ran, as a start would', async (t) => {
  const env = await daemonWith(t, (env) => env.writeVm('web', { description: 'old' }));
  await ctlOk(env, 'start', 'web');
  const before = await ctlStatus(env, 'web');
  env.writeVm('web', { description: 'new' });
  const reload = await ctlOk(env, 'reload');
  assert.equal(reload.stdout, 'reloaded: 1 changed (web)\n');
  const pending = await ctlOk(env, 'status', 'web');
  assert.match(pending.stdout, /^web: its config changed; the change applies at the next start \(vmstatedctl restart web applies it now\)$/m);
  assert.equal((await ctlStatus(env, 'web')).description, 'old', 'a running VM keeps its config until it restarts');

  await ctlOk(env, 'restart', 'web');
  const after = await ctlStatus(env, 'web');
  assert.deepEqual([after.state, after.description, after.configPending], ['running', 'new', false]);
  assert.notEqual(after.pid, before.pid, 'a new bhyve');
  assert.match(env.vmLog('web'), /configuration from \S+ applied/);
});
