/**
 * rc.d/vmstated with the real vmstated: installed the way npm installs it (a symlink in a bin
 * directory), run by /bin/sh against the stand-in rc.subr. It proves that the process rc.subr looks
 * for is the one vmstated leaves running, that start returns once it serves, and that stop waits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isProcessAlive as isAlive } from '../../src/shared/process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface RcResult {
  status: number;
  stdout: string;
  stderr: string;
}

test('the rc script starts, finds, reloads, upgrades and stops the real vmstated', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmstated-rc-real-'));
  const bin = path.join(dir, 'bin');
  const pidfile = path.join(dir, 'vmstated.pid');
  const socket = path.join(dir, 'vmstated.sock');
  const config = path.join(dir, 'etc');
  const log = path.join(dir, 'record');
  fs.mkdirSync(bin);
  fs.mkdirSync(config);
  fs.symlinkSync(path.join(ROOT, 'bin/vmstated.js'), path.join(bin, 'vmstated'));
  fs.symlinkSync(path.join(ROOT, 'bin/vmstatedctl.cjs'), path.join(bin, 'vmstatedctl'));
  const script = path.join(dir, 'vmstated.rc');
  const original = fs.readFileSync(path.join(ROOT, 'rc.d/vmstated'), 'utf8');
  fs.writeFileSync(script, original.replace(/^\. \/etc\/rc\.subr$/m, `. ${path.join(ROOT, 'test/system/fixtures/rc.subr')}`));
  const rcConf = path.join(dir, 'rc.conf');
  fs.writeFileSync(
    rcConf,
    [
      'vmstated_enable="YES"',
      `vmstated_program="${bin}/vmstated"`,
      `vmstated_config="${config}"`,
      `vmstated_pidfile="${pidfile}"`,
      `vmstated_socket="${socket}"`,
      `vmstated_flags="-l ${dir}/log -r ${dir}/run"`,
    ].join('\n') + '\n',
  );
  t.after(() => {
    try {
      const pid = Number.parseInt(fs.readFileSync(pidfile, 'utf8'), 10);
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    } catch {
      // not running
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const rc = (arg: string): Promise<RcResult> =>
    new Promise((resolve, reject) => {
      execFile(
        '/bin/sh',
        [script, arg],
        {
          timeout: 30_000,
          // The PATH rc(8) gives scripts, plus where this machine's node is.
          env: { PATH: `/sbin:/bin:/usr/sbin:/usr/bin:${path.dirname(process.execPath)}`, RCSUBR_LOG: log, RCSUBR_RC_CONF: rcConf },
        },
        (error, stdout, stderr) => {
          if (error !== null && typeof error.code !== 'number') reject(error);
          else resolve({ status: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
        },
      );
    });
  const daemonPid = (): number => Number.parseInt(fs.readFileSync(pidfile, 'utf8'), 10);

  const started = await rc('start');
  assert.equal(started.status, 0, started.stdout + started.stderr);
  const pid = daemonPid();
  assert.ok(isAlive(pid), 'start returned with the daemon running');
  assert.ok(fs.statSync(socket).isSocket(), 'start returned with the socket bound');

  const status = await rc('status');
  assert.equal(status.stdout.trim(), `vmstated is running as pid ${pid}.`, status.stdout + status.stderr);
  assert.equal(status.stderr, '', 'rc.subr has no complaint about the #! line');

  const reloaded = await rc('reload');
  assert.equal(reloaded.status, 0, reloaded.stderr);
  assert.ok(isAlive(pid), 'SIGHUP does not stop the daemon');

  const upgraded = await rc('upgrade');
  assert.equal(upgraded.status, 0, upgraded.stdout + upgraded.stderr);
  const newPid = daemonPid();
  assert.notEqual(newPid, pid);
  assert.equal(isAlive(pid), false, 'the old daemon is gone');
  assert.ok(isAlive(newPid), 'the new daemon runs');

  const stopped = await rc('stop');
  assert.equal(stopped.status, 0, stopped.stdout + stopped.stderr);
  assert.equal(isAlive(newPid), false, 'stop returned only once the daemon had exited');
  assert.equal(fs.existsSync(pidfile), false, 'the daemon removed its pid file');

  const checked = await rc('configtest');
  assert.equal(checked.status, 0, checked.stdout + checked.stderr);
});
