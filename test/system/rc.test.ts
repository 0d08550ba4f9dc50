/**
 * rc.d/vmstated, run by /bin/sh against a stand-in for /etc/rc.subr (test/system/fixtures/rc.subr)
 * that records every command it issues, with a stand-in daemon that detaches and writes its pid
 * file like vmstated does.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isProcessAlive as isAlive } from '../../src/shared/process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const RC_SCRIPT = path.join(ROOT, 'rc.d/vmstated');
const FIXTURES = path.join(ROOT, 'test/system/fixtures');

interface RcEnv {
  dir: string;
  script: string;
  pidfile: string;
  socket: string;
  config: string;
  program: string;
  /** What rc.subr issued, and what the stand-in daemon and vmstatedctl were asked. */
  log: string;
  rcConf: string;
}

interface RcResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** A copy of the rc script that sources the stand-in rc.subr, plus fake daemon and rc.conf. */
function makeRcEnv(t: TestContext, rcConfLines: string[] = ['vmstated_enable="YES"']): RcEnv {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmstated-rc-'));
  const original = fs.readFileSync(RC_SCRIPT, 'utf8');
  assert.match(original, /^\. \/etc\/rc\.subr$/m, 'the rc script sources /etc/rc.subr');
  const script = path.join(dir, 'vmstated');
  fs.writeFileSync(script, original.replace(/^\. \/etc\/rc\.subr$/m, `. ${dir}/rc.subr`), { mode: 0o755 });
  fs.copyFileSync(path.join(FIXTURES, 'rc.subr'), path.join(dir, 'rc.subr'));
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.mkdirSync(path.join(dir, 'run'));
  const program = path.join(dir, 'bin/vmstated');
  fs.copyFileSync(path.join(FIXTURES, 'fake-vmstated'), program);
  fs.copyFileSync(path.join(FIXTURES, 'fake-vmstatedctl'), path.join(dir, 'bin/vmstatedctl'));
  fs.chmodSync(program, 0o755);
  fs.chmodSync(path.join(dir, 'bin/vmstatedctl'), 0o755);
  const env: RcEnv = {
    dir,
    script,
    pidfile: path.join(dir, 'run/vmstated.pid'),
    socket: path.join(dir, 'run/vmstated.sock'),
    config: path.join(dir, 'etc/vmstated'),
    program,
    log: path.join(dir, 'record'),
    rcConf: path.join(dir, 'rc.conf'),
  };
  fs.writeFileSync(env.log, '');
  fs.writeFileSync(
    env.rcConf,
    [
      `vmstated_program="${program}"`,
      `vmstated_config="${env.config}"`,
      `vmstated_pidfile="${env.pidfile}"`,
      `vmstated_socket="${env.socket}"`,
      ...rcConfLines,
    ].join('\n') + '\n',
  );
  t.after(() => {
    killDaemon(env);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return env;
}

function daemonPid(env: RcEnv): number | null {
  try {
    return Number.parseInt(fs.readFileSync(env.pidfile, 'utf8'), 10);
  } catch {
    return null;
  }
}

function killDaemon(env: RcEnv): void {
  const pid = daemonPid(env);
  if (pid !== null && isAlive(pid)) process.kill(pid, 'SIGKILL');
}

function rc(env: RcEnv, arg: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<RcResult> {
  return new Promise((resolve, reject) => {
    execFile(
      '/bin/sh',
      [env.script, arg],
      {
        timeout: 20_000,
        env: {
          PATH: '/sbin:/bin:/usr/sbin:/usr/bin',
          RCSUBR_LOG: env.log,
          RCSUBR_RC_CONF: env.rcConf,
          FAKE_LOG: env.log,
          FAKE_PIDFILE: env.pidfile,
          ...extraEnv,
        },
      },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') reject(error);
        else resolve({ status: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
  });
}

function record(env: RcEnv): string[] {
  return fs.readFileSync(env.log, 'utf8').split('\n').filter((line) => line !== '');
}

/** The index of the first record line matching `pattern`, failing when there is none. */
function indexOf(lines: string[], pattern: RegExp): number {
  const at = lines.findIndex((line) => pattern.test(line));
  assert.notEqual(at, -1, `no record line matches ${pattern}:\n${lines.join('\n')}`);
  return at;
}

test('the rc script is valid sh', async () => {
  await new Promise<void>((resolve, reject) => {
    execFile('/bin/sh', ['-n', RC_SCRIPT], (error, _stdout, stderr) => {
      if (error !== null) reject(new Error(`sh -n rc.d/vmstated: ${stderr}`));
      else resolve();
    });
  });
});

test('the rcorder header and rc.conf variables and their defaults', async (t) => {
  const text = fs.readFileSync(RC_SCRIPT, 'utf8');
  assert.match(text, /^# PROVIDE: vmstated$/m);
  assert.match(text, /^# REQUIRE: LOGIN NETWORKING$/m);
  assert.match(text, /^# KEYWORD: shutdown$/m);

  const env = makeRcEnv(t);
  fs.writeFileSync(env.rcConf, ''); // nothing set: every default
  const result = await rc(env, 'start', { RCSUBR_DUMP: '1' });
  assert.equal(result.status, 0, result.stderr);
  const vars = new Map(
    result.stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  assert.equal(vars.get('name'), 'vmstated');
  assert.equal(vars.get('rcvar'), 'vmstated_enable');
  assert.equal(vars.get('vmstated_enable'), 'NO');
  assert.equal(vars.get('vmstated_config'), '/usr/local/etc/vmstated');
  assert.equal(vars.get('vmstated_pidfile'), '/var/run/vmstated.pid');
  assert.equal(vars.get('vmstated_socket'), '/var/run/vmstated.sock');
  assert.equal(vars.get('vmstated_metrics_listen'), '', 'no metrics listener unless asked for');
  assert.equal(vars.get('command'), '/usr/local/bin/vmstated');
  assert.equal(vars.get('command_interpreter'), 'node', 'the #! line of bin/vmstated.js is "#!/usr/bin/env node"');
  assert.equal(vars.get('procname'), '', 'the process check reads the #! line of the command itself');
  assert.equal(vars.get('pidfile'), '/var/run/vmstated.pid');
  assert.equal(vars.get('command_args'), '-c /usr/local/etc/vmstated -p /var/run/vmstated.pid -s /var/run/vmstated.sock');
  assert.equal(vars.get('sig_stop'), 'TERM');
  assert.equal(vars.get('sig_reload'), 'HUP');
  assert.equal(vars.get('required_modules'), 'vmm nmdm', 'vmm for bhyve, nmdm for the consoles vmstated keeps');
  assert.deepEqual(vars.get('extra_commands')?.split(' ').sort(), ['configtest', 'reload', 'upgrade']);
  assert.ok(vars.get('PATH')?.split(':').includes('/usr/local/bin'), 'node in /usr/local/bin is found at boot');
});

test('vmstated_metrics_listen becomes --metrics-listen', async (t) => {
  const env = makeRcEnv(t, ['vmstated_metrics_listen="0.0.0.0:10123"']);
  const result = await rc(env, 'start', { RCSUBR_DUMP: '1' });
  assert.equal(result.status, 0, result.stderr);
  const args = result.stdout.split('\n').find((line) => line.startsWith('command_args='));
  assert.equal(args, `command_args=-c ${env.config} -p ${env.pidfile} -s ${env.socket} --metrics-listen 0.0.0.0:10123`);
});

test('the #! line rc.subr checks against is the one bin/vmstated.js has', () => {
  const firstLine = fs.readFileSync(path.join(ROOT, 'bin/vmstated.js'), 'utf8').split('\n')[0];
  assert.equal(firstLine, '#!/usr/bin/env node');
});

test('rcvar names vmstated_enable', async (t) => {
  const env = makeRcEnv(t, []);
  const result = await rc(env, 'rcvar');
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /^vmstated_enable="NO"$/m);
});

test('start does nothing while vmstated_enable is not YES', async (t) => {
  const env = makeRcEnv(t, ['vmstated_enable="NO"']);
  const result = await rc(env, 'start');
  assert.match(result.stdout, /Cannot 'start' vmstated/);
  assert.equal(record(env).some((line) => line.startsWith('start:') || line.startsWith('argv')), false);
  assert.equal(daemonPid(env), null);
});

test('start runs vmstated with the configured paths and flags, and status finds it', async (t) => {
  const env = makeRcEnv(t, ['vmstated_enable="YES"', 'vmstated_flags="-v"']);
  const started = await rc(env, 'start');
  assert.equal(started.status, 0, started.stderr);
  const lines = record(env);
  const expectedArgs = `-v -c ${env.config} -p ${env.pidfile} -s ${env.socket}`;
  assert.ok(lines.includes(`start: ${env.program} ${expectedArgs}`), lines.join('\n'));
  assert.ok(lines.includes(`argv ${expectedArgs}`), lines.join('\n'));
  assert.ok(lines.includes('required_module vmm'));
  assert.ok(lines.includes('required_module nmdm'));
  const pathLine = lines.find((line) => line.startsWith('PATH '));
  assert.ok(pathLine?.split(' ')[1]?.split(':').includes('/usr/local/bin'), pathLine);

  const pid = daemonPid(env);
  assert.ok(pid !== null && isAlive(pid), 'start returned with the daemon serving');
  assert.ok(record(env).includes(`daemon ${pid} serving`));

  const status = await rc(env, 'status');
  assert.equal(status.status, 0, status.stderr);
  assert.equal(status.stdout.trim(), `vmstated is running as pid ${pid}.`);
  assert.equal(status.stderr, '', 'no command_interpreter warning');
  assert.ok(record(env).includes(`check_pidfile ${env.pidfile} ${env.program} node`), record(env).join('\n'));

  const again = await rc(env, 'start');
  assert.equal(again.status, 1);
  assert.match(again.stderr, new RegExp(`already running\\? \\(pid=${pid}\\)`));
});

test('start fails when vmstated does not come up', async (t) => {
  const env = makeRcEnv(t);
  const result = await rc(env, 'start', { FAKE_FAIL: '1' });
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /cannot bind/);
  assert.match(result.stderr, /failed to start vmstated/);
  assert.equal(daemonPid(env), null);
});

test('reload sends SIGHUP to the daemon', async (t) => {
  const env = makeRcEnv(t);
  assert.equal((await rc(env, 'start')).status, 0);
  const pid = daemonPid(env);
  const result = await rc(env, 'reload');
  assert.equal(result.status, 0, result.stderr);
  assert.ok(record(env).includes(`kill -HUP ${pid}`));
  await waitFor(() => record(env).includes(`daemon ${pid} SIGHUP`), 'the daemon got SIGHUP');
  assert.ok(pid !== null && isAlive(pid), 'reload does not stop the daemon');
});

test('stop sends SIGTERM and returns only once the daemon has exited', async (t) => {
  const env = makeRcEnv(t);
  assert.equal((await rc(env, 'start')).status, 0);
  const pid = daemonPid(env);
  assert.ok(pid !== null);
  const result = await rc(env, 'stop');
  assert.equal(result.status, 0, result.stderr);
  const lines = record(env);
  const kill = indexOf(lines, new RegExp(`^kill -TERM ${pid}$`));
  const exited = indexOf(lines, new RegExp(`^daemon ${pid} exited$`));
  const waited = indexOf(lines, /^wait_for_pids done$/);
  assert.ok(kill < exited && exited < waited, lines.join('\n'));
  assert.equal(isAlive(pid), false);

  const status = await rc(env, 'status');
  assert.equal(status.status, 1);
  assert.equal(status.stdout.trim(), 'vmstated is not running.');
  const again = await rc(env, 'stop');
  assert.equal(again.status, 1);
});

test('stop works even when vmstated_enable was turned off after start', async (t) => {
  const env = makeRcEnv(t);
  assert.equal((await rc(env, 'start')).status, 0);
  const pid = daemonPid(env);
  fs.appendFileSync(env.rcConf, 'vmstated_enable="NO"\n');
  const result = await rc(env, 'stop');
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.ok(pid !== null && !isAlive(pid));
});

test('upgrade restarts the daemon through vmstatedctl shutdown --keep-vms, never SIGTERM', async (t) => {
  const env = makeRcEnv(t);
  assert.equal((await rc(env, 'start')).status, 0);
  const oldPid = daemonPid(env);
  const result = await rc(env, 'upgrade');
  assert.equal(result.status, 0, result.stderr);
  const newPid = daemonPid(env);
  assert.ok(oldPid !== null && newPid !== null && newPid !== oldPid);
  assert.equal(isAlive(oldPid), false);
  assert.ok(isAlive(newPid));
  const lines = record(env);
  const ctl = indexOf(lines, new RegExp(`^vmstatedctl -s ${env.socket} shutdown --keep-vms$`));
  const kept = indexOf(lines, new RegExp(`^daemon ${oldPid} exited, VMs kept$`));
  const waited = indexOf(lines, /^wait_for_pids done$/);
  const started = indexOf(lines, new RegExp(`^daemon ${newPid} serving$`));
  assert.ok(ctl < kept && kept < waited && waited < started, lines.join('\n'));
  assert.equal(lines.some((line) => line.startsWith('kill -TERM')), false);
});

test('configtest runs vmstated -n on the config directory and passes on its status', async (t) => {
  const env = makeRcEnv(t);
  const ok = await rc(env, 'configtest');
  assert.equal(ok.status, 0, ok.stderr);
  assert.ok(record(env).includes(`argv -n -c ${env.config}`));
  const bad = await rc(env, 'configtest', { FAKE_CHECK_STATUS: '1' });
  assert.equal(bad.status, 1);
});

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
