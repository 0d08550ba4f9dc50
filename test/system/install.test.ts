/** bin/install-system.sh, run by /bin/sh into a temporary DESTDIR. */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SCRIPT = path.join(ROOT, 'bin/install-system.sh');

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

function install(env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', [SCRIPT], { timeout: 20_000, env: { PATH: process.env.PATH, ...env } }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') reject(error);
      else resolve({ status: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}

function tempDestdir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmstated-install-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function mode(file: string): number {
  return fs.statSync(file).mode & 0o7777;
}

test('installs every file with its mode under DESTDIR and the default PREFIX', async (t) => {
  const destdir = tempDestdir(t);
  const result = await install({ DESTDIR: destdir });
  assert.equal(result.status, 0, result.stderr);

  const rc = path.join(destdir, 'usr/local/etc/rc.d/vmstated');
  assert.equal(mode(rc), 0o555);
  assert.equal(fs.readFileSync(rc, 'utf8'), fs.readFileSync(path.join(ROOT, 'rc.d/vmstated'), 'utf8'));

  const man8 = path.join(destdir, 'usr/local/share/man/man8/vmstated.8');
  const man1 = path.join(destdir, 'usr/local/share/man/man1/vmstatedctl.1');
  assert.equal(mode(man8), 0o444);
  assert.equal(mode(man1), 0o444);
  assert.equal(fs.readFileSync(man8, 'utf8'), fs.readFileSync(path.join(ROOT, 'man/vmstated.8'), 'utf8'));
  assert.equal(fs.readFileSync(man1, 'utf8'), fs.readFileSync(path.join(ROOT, 'man/vmstatedctl.1'), 'utf8'));

  const shipped = fs.readFileSync(path.join(ROOT, 'etc/newsyslog.conf.d/vmstated.conf'), 'utf8');
  const conf = path.join(destdir, 'usr/local/etc/newsyslog.conf.d/vmstated.conf');
  assert.equal(fs.readFileSync(conf, 'utf8'), shipped);
  assert.equal(fs.readFileSync(`${conf}.sample`, 'utf8'), shipped);
  assert.equal(mode(conf), 0o644);

  const rules = path.join(destdir, 'usr/local/share/vmstated/prometheus/vmstated.rules.yml');
  assert.equal(fs.readFileSync(rules, 'utf8'), fs.readFileSync(path.join(ROOT, 'etc/prometheus/vmstated.rules.yml'), 'utf8'));
  assert.equal(mode(rules), 0o444);
  const dashboard = path.join(path.dirname(rules), 'vmstated.grafana.json');
  assert.equal(fs.readFileSync(dashboard, 'utf8'), fs.readFileSync(path.join(ROOT, 'etc/prometheus/vmstated.grafana.json'), 'utf8'));

  const configdir = path.join(destdir, 'usr/local/etc/vmstated');
  assert.ok(fs.statSync(configdir).isDirectory());
  assert.equal(mode(configdir), 0o755);
  assert.deepEqual(fs.readdirSync(configdir), []);
  const logdir = path.join(destdir, 'var/log/vmstated');
  assert.ok(fs.statSync(logdir).isDirectory());
  assert.equal(mode(logdir), 0o750);

  assert.match(result.stdout, /sysrc vmstated_enable=YES/);
});

test('a second run keeps the VM configs and a changed newsyslog entry, and updates the rest', async (t) => {
  const destdir = tempDestdir(t);
  assert.equal((await install({ DESTDIR: destdir })).status, 0);

  const vmdir = path.join(destdir, 'usr/local/etc/vmstated/web');
  fs.mkdirSync(vmdir);
  const vmConfig = 'web { configfile = bhyve_config; memory = 4G; }\n';
  fs.writeFileSync(path.join(vmdir, 'config'), vmConfig);
  fs.chmodSync(path.join(destdir, 'usr/local/etc/vmstated'), 0o700);
  const conf = path.join(destdir, 'usr/local/etc/newsyslog.conf.d/vmstated.conf');
  const adminEntry = '/var/log/vmstated/*.log root:wheel 600 30 * @T00 GJ /var/run/vmstated.pid 1\n';
  fs.writeFileSync(conf, adminEntry);
  const rc = path.join(destdir, 'usr/local/etc/rc.d/vmstated');
  fs.chmodSync(rc, 0o755);
  fs.appendFileSync(rc, '# stale\n');

  const second = await install({ DESTDIR: destdir });
  assert.equal(second.status, 0, second.stderr);
  assert.equal(fs.readFileSync(path.join(vmdir, 'config'), 'utf8'), vmConfig);
  assert.equal(mode(path.join(destdir, 'usr/local/etc/vmstated')), 0o700, 'an existing config dir keeps its mode');
  assert.equal(fs.readFileSync(conf, 'utf8'), adminEntry);
  const shipped = fs.readFileSync(path.join(ROOT, 'etc/newsyslog.conf.d/vmstated.conf'), 'utf8');
  assert.equal(fs.readFileSync(`${conf}.sample`, 'utf8'), shipped);
  assert.match(second.stdout, /kept .*vmstated\.conf: it was changed/);
  assert.equal(fs.readFileSync(rc, 'utf8'), fs.readFileSync(path.join(ROOT, 'rc.d/vmstated'), 'utf8'));
  assert.equal(mode(rc), 0o555);
});

test('an unchanged earlier newsyslog entry is updated to the new one', async (t) => {
  const destdir = tempDestdir(t);
  const dir = path.join(destdir, 'usr/local/etc/newsyslog.conf.d');
  fs.mkdirSync(dir, { recursive: true });
  const earlier = '/var/log/vmstated/*.log 640 7 1000 * GJ /var/run/vmstated.pid 1\n';
  fs.writeFileSync(path.join(dir, 'vmstated.conf'), earlier);
  fs.writeFileSync(path.join(dir, 'vmstated.conf.sample'), earlier);
  const result = await install({ DESTDIR: destdir });
  assert.equal(result.status, 0, result.stderr);
  const shipped = fs.readFileSync(path.join(ROOT, 'etc/newsyslog.conf.d/vmstated.conf'), 'utf8');
  assert.equal(fs.readFileSync(path.join(dir, 'vmstated.conf'), 'utf8'), shipped);
});

test('PREFIX and BINDIR move the files and the paths in the rc.d script', async (t) => {
  const destdir = tempDestdir(t);
  const result = await install({ DESTDIR: destdir, PREFIX: '/opt/vm', BINDIR: '/opt/node/bin' });
  assert.equal(result.status, 0, result.stderr);
  const rc = fs.readFileSync(path.join(destdir, 'opt/vm/etc/rc.d/vmstated'), 'utf8');
  assert.match(rc, /^command="\/opt\/node\/bin\/vmstated"$/m);
  assert.match(rc, /^: \$\{vmstated_config:="\/opt\/vm\/etc\/vmstated"\}$/m);
  assert.match(rc, /^PATH="\$\{PATH\}:\/usr\/local\/sbin:\/usr\/local\/bin:\/opt\/node\/bin"$/m);
  for (const file of ['share/man/man8/vmstated.8', 'share/man/man1/vmstatedctl.1', 'etc/newsyslog.conf.d/vmstated.conf']) {
    assert.ok(fs.existsSync(path.join(destdir, 'opt/vm', file)), file);
  }
  assert.ok(fs.statSync(path.join(destdir, 'opt/vm/etc/vmstated')).isDirectory());
  assert.ok(fs.statSync(path.join(destdir, 'var/log/vmstated')).isDirectory());
  assert.equal(fs.existsSync(path.join(destdir, 'usr/local')), false);
});

test('a relative PREFIX is refused', async (t) => {
  const destdir = tempDestdir(t);
  const result = await install({ DESTDIR: destdir, PREFIX: 'usr/local' });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /PREFIX must be an absolute path/);
  assert.deepEqual(fs.readdirSync(destdir), []);
});
