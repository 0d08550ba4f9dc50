/**
 * The real bin/vmstatedctl.cjs, run as a child process against a fake vmstated (fake-daemon.ts):
 * argv handling, each command's requests and output, exit codes and error messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Request } from '../../src/protocol/types.js';
import { runCtl, startFakeDaemon, tempDir, vmStatus, type FakeConnection, type FakeDaemon } from './fake-daemon.js';

type TestContext = { after(fn: () => void | Promise<void>): void };

async function daemon(t: TestContext, handler: (request: Request, connection: FakeConnection) => void): Promise<FakeDaemon> {
  const fake = await startFakeDaemon(tempDir(t), handler);
  t.after(() => fake.close());
  return fake;
}

const WEB = vmStatus('web', {
  state: 'running',
  pid: 4242,
  workerPid: 4200,
  owner: 'alice',
  group: 'vmusers',
  description: 'Web server',
  since: new Date(Date.now() - (2 * 3600 + 5 * 60) * 1000).toISOString(),
});
const DB = {
  ...vmStatus('db', { state: 'failed', failureReason: 'hook start_network exited 1', restarts: 2 }),
  logProblem: 'ENOSPC: no space left on device',
};
const PROBLEM = { severity: 'error', file: '/etc/vm/mail/config', line: 3, column: 7, message: 'cpus must be a number' };

/** Answers status and problems like a daemon with web (running) and db (failed). */
function statusDaemon(request: Request, connection: FakeConnection): void {
  if (request.cmd === 'status') {
    const vm = request.args?.vm;
    if (vm === undefined) connection.reply([WEB, DB]);
    else if (vm === 'web') connection.reply([WEB]);
    else connection.fail('NOT_FOUND', `request ${request.id} (status): no VM named "${String(vm)}"`);
  } else if (request.cmd === 'problems') connection.reply([PROBLEM]);
  else connection.fail('UNKNOWN_COMMAND', 'unexpected');
}

test('status prints the VM table, the failure reason and the config problems', async (t) => {
  const fake = await daemon(t, statusDaemon);
  const result = await runCtl(['-s', fake.socketPath, 'status']);
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.split('\n');
  assert.match(lines[0]!, /^NAME\s+STATE\s+PID\s+UPTIME\s+RESTARTS\s+OWNER\s+DESCRIPTION$/);
  assert.match(lines[1]!, /^web\s+running\s+4242\s+2h0[45]m\s+0\s+alice:vmusers\s+Web server$/);
  assert.match(lines[2]!, /^db\s+failed\s+-\s+-\s+2\s+-$/);
  assert.match(result.stdout, /^db: failed: hook start_network exited 1$/m);
  assert.match(result.stdout, /^db: its log cannot be written: ENOSPC: no space left on device$/m);
  assert.match(result.stdout, /^ {2}\/etc\/vm\/mail\/config:3:7: error: cpus must be a number$/m);
  assert.deepEqual(
    fake.requests.map((request) => [request.v, request.cmd, request.args]),
    [[1, 'status', {}], [1, 'problems', {}]],
  );
});

test('--json status (before or after the command) prints exactly the daemon\'s status array', async (t) => {
  const fake = await daemon(t, statusDaemon);
  for (const args of [['--json', '-s', fake.socketPath, 'status'], ['status', '--json', '-s', fake.socketPath]]) {
    const result = await runCtl(args);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), [WEB, DB]);
  }
  assert.deepEqual(fake.requests.map((request) => request.cmd), ['status', 'status']);
});

test('a piped stdin is never taken as the VM name (a `while read` loop keeps its input)', async (t) => {
  const fake = await daemon(t, statusDaemon);
  const result = await runCtl(['-s', fake.socketPath, 'status'], { stdin: 'web\n' });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(fake.requests.map((request) => [request.cmd, request.args]), [['status', {}], ['problems', {}]]);
});

test('the socket comes from -s, --socket=, or VMSTATED_SOCKET, -s first', async (t) => {
  const fake = await daemon(t, statusDaemon);
  const elsewhere = path.join(path.dirname(fake.socketPath), 'nothing-here.sock');
  const runs = [
    runCtl(['-s', fake.socketPath, 'status', 'web']),
    runCtl([`--socket=${fake.socketPath}`, 'status', 'web']),
    runCtl(['status', 'web'], { env: { VMSTATED_SOCKET: fake.socketPath } }),
    // -s wins over the environment
    runCtl(['-s', fake.socketPath, 'status', 'web'], { env: { VMSTATED_SOCKET: elsewhere } }),
  ];
  for (const result of await Promise.all(runs)) {
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^web\s+running/m);
  }
  assert.equal(fake.requests.filter((request) => request.cmd === 'status' && request.args?.vm === 'web').length, 4);
});

test('status of an unknown VM: exit 1 and "vmstatedctl: <vm>: <message>" on stderr', async (t) => {
  const fake = await daemon(t, statusDaemon);
  const result = await runCtl(['-s', fake.socketPath, 'status', 'ghost']);
  assert.equal(result.code, 1);
  assert.equal(result.stdout, '');
  assert.equal(result.stderr, 'vmstatedctl: ghost: no VM named "ghost"\n');
});

test('an unreachable daemon exits 3 and names the socket, in the same words for every command (console too)', async (t) => {
  const dir = tempDir(t);
  const missing = path.join(dir, 'absent.sock');
  for (const args of [['-s', missing, 'status'], ['start', 'web', '-s', missing], ['console', 'web', '-s', missing]]) {
    const result = await runCtl(args);
    assert.equal(result.code, 3, `${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.stderr, `vmstatedctl: cannot connect to vmstated at ${missing}: no such socket (ENOENT); is vmstated running? (-s / VMSTATED_SOCKET)\n`);
  }
  // A directory (or a file) where the socket should be: Linux says ECONNREFUSED, as if nothing listened.
  const directory = await runCtl(['-s', dir, 'status']);
  assert.equal(directory.code, 3);
  assert.match(directory.stderr, new RegExp(`^vmstatedctl: cannot connect to vmstated at ${dir}: it is a directory, not a socket \\(E[A-Z]+\\);`));
});

test('usage errors exit 2 without contacting the daemon', async (t) => {
  const fake = await daemon(t, statusDaemon);
  const cases: Array<[string[], RegExp]> = [
    [['frobnicate'], /command frobnicate not found/],
    [['start'], /Missing 1 required arg/],
    [['stop', '--bogus', 'web'], /Nonexistent flag: --bogus/],
    [['top', '-d', '0'], /-d must be a number of seconds above 0/],
    [['logs', 'web', '-n', '-5'], /^vmstatedctl: --lines: expected an integer greater than or equal to 0 but received: -5\n\(see 'vmstatedctl logs --help'\)\n$/],
  ];
  for (const [args, message] of cases) {
    const result = await runCtl(['-s', fake.socketPath, ...args]);
    assert.equal(result.code, 2, `${args.join(' ')}: ${JSON.stringify(result)}`);
    assert.match(result.stderr, /^vmstatedctl: /);
    assert.match(result.stderr, message);
  }
  assert.equal(fake.requests.length, 0);
});

test('start waits for every VM in parallel and exits 1 naming the failure reason', async (t) => {
  const pending: FakeConnection[] = [];
  const fake = await daemon(t, (request, connection) => {
    assert.equal(request.cmd, 'start');
    pending.push(connection);
    // Answer only once both requests are in flight: they must not wait on each other.
    if (pending.length === 2) {
      // vmstated's wording for a failed outcome: the request, the VM, the reason.
      pending[1]!.fail('FAILED', 'request 2 (start): VM "db": bhyve exited 4 (error)');
      pending[0]!.reply({ ok: true, status: vmStatus('web', { state: 'running', pid: 1 }) });
    }
  });
  const result = await runCtl(['-s', fake.socketPath, 'start', 'web', 'db']);
  assert.equal(result.code, 1);
  assert.equal(result.stdout, 'web: running\n');
  assert.equal(result.stderr, 'vmstatedctl: db: bhyve exited 4 (error)\n');
  assert.deepEqual(fake.requests.map((request) => request.args), [{ vm: 'web', wait: true }, { vm: 'db', wait: true }]);
});

test('stop, restart: refusals exit 1 with the daemon\'s message; success exits 0', async (t) => {
  const fake = await daemon(t, (request, connection) => {
    const vm = String(request.args?.vm);
    if (vm === 'idle') connection.fail('INVALID_STATE', 'idle is stopped, there is nothing to stop');
    else if (request.cmd === 'stop') connection.reply(vmStatus(vm, { state: 'stopped' }));
    else connection.reply(vmStatus(vm, { state: 'running' }));
  });
  const stopped = await runCtl(['-s', fake.socketPath, 'stop', 'web']);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.equal(stopped.stdout, 'web: stopped\n');
  const refused = await runCtl(['-s', fake.socketPath, 'stop', 'idle']);
  assert.equal(refused.code, 1);
  assert.equal(refused.stderr, 'vmstatedctl: idle: idle is stopped, there is nothing to stop\n');
  const restarted = await runCtl(['-s', fake.socketPath, 'restart', 'web']);
  assert.equal(restarted.code, 0, restarted.stderr);
  assert.equal(restarted.stdout, 'web: running\n');
  assert.deepEqual(
    fake.requests.map((request) => [request.cmd, request.args]),
    [['stop', { vm: 'web', wait: true }], ['stop', { vm: 'idle', wait: true }], ['restart', { vm: 'web', wait: true }]],
  );
});

test('a VM that ends failed counts as a failure even when the reply is ok', async (t) => {
  const fake = await daemon(t, (request, connection) => {
    connection.reply(vmStatus(String(request.args?.vm), { state: 'failed', failureReason: 'restart window exceeded (4 in 30s)' }));
  });
  const result = await runCtl(['-s', fake.socketPath, 'restart', 'web']);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, 'vmstatedctl: web: restart window exceeded (4 in 30s)\n');
});

test('Ctrl-C while waiting says that vmstated carries on, and exits 130', async (t) => {
  const fake = await daemon(t, () => {}); // never answers: the start takes long
  const result = await runCtl(['-s', fake.socketPath, 'start', 'web', 'db'], {
    onSpawn(child) {
      // If the request never comes, kill the client anyway: the assertions below then fail.
      void fake.waitForRequest('start').then(
        () => child.kill('SIGINT'),
        () => child.kill('SIGKILL'),
      );
    },
  });
  assert.equal(result.code, 130);
  assert.equal(result.stderr, '\nvmstatedctl: interrupted; vmstated carries on with: start web db\n');
});

test('--no-wait sends wait:false and reports the request as made', async (t) => {
  const fake = await daemon(t, (request, connection) => connection.reply(vmStatus(String(request.args?.vm), { state: 'start_network' })));
  const result = await runCtl(['-s', fake.socketPath, 'start', '--no-wait', 'web', 'db']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, 'web: start requested\ndb: start requested\n');
  assert.deepEqual(fake.requests.map((request) => request.args), [{ vm: 'web', wait: false }, { vm: 'db', wait: false }]);
});

test('--json start prints one outcome per VM', async (t) => {
  const fake = await daemon(t, (request, connection) => {
    if (request.args?.vm === 'web') connection.reply(vmStatus('web', { state: 'running' }));
    else connection.fail('NOT_FOUND', 'no VM named "nope"');
  });
  const result = await runCtl(['--json', '-s', fake.socketPath, 'start', 'web', 'nope']);
  assert.equal(result.code, 1);
  assert.deepEqual(JSON.parse(result.stdout), [
    { vm: 'web', ok: true, state: 'running', error: null },
    { vm: 'nope', ok: false, state: null, error: 'no VM named "nope"' },
  ]);
  assert.equal(result.stderr, 'vmstatedctl: nope: no VM named "nope"\n');
});

test('failreset sends only the VM name', async (t) => {
  const fake = await daemon(t, (request, connection) => connection.reply(vmStatus(String(request.args?.vm))));
  const result = await runCtl(['-s', fake.socketPath, 'failreset', 'db']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, 'db: stopped\n');
  assert.deepEqual(fake.requests.map((request) => [request.cmd, request.args]), [['failreset', { vm: 'db' }]]);
});

test('losing the daemon while waiting exits 3', async (t) => {
  const fake = await daemon(t, (_request, connection) => connection.end());
  const result = await runCtl(['-s', fake.socketPath, 'start', 'web']);
  assert.equal(result.code, 3, result.stderr);
  assert.match(result.stderr, /^vmstatedctl: .*closed/);
});

test('reload prints the problems and exits 1 when one is an error', async (t) => {
  let problems = [PROBLEM];
  const fake = await daemon(t, (request, connection) => {
    if (request.cmd === 'reload') connection.reply({ problems });
    else connection.fail('UNKNOWN_COMMAND', 'unexpected');
  });
  const failed = await runCtl(['-s', fake.socketPath, 'reload']);
  assert.equal(failed.code, 1);
  assert.equal(failed.stderr, 'vmstatedctl: /etc/vm/mail/config:3:7: error: cpus must be a number\n');
  assert.equal(failed.stdout, 'reloaded: no change; 1 error\n', 'counted from the problems when the reply has no counts');
  problems = [];
  const clean = await runCtl(['reload', '-s', fake.socketPath]);
  assert.equal(clean.code, 0, clean.stderr);
  assert.equal(clean.stdout, 'reloaded: no change\n');
  assert.deepEqual(fake.requests.map((request) => [request.cmd, request.args]), [['reload', {}], ['reload', {}]]);
});

test('shutdown passes --keep-vms; a non-root refusal exits 1', async (t) => {
  const fake = await daemon(t, (request, connection) => {
    if (request.args?.keepVms === true) connection.reply({ shuttingDown: true, keepVms: true });
    else connection.fail('FORBIDDEN', `request ${request.id} (shutdown): only root may shutdown`);
  });
  const kept = await runCtl(['-s', fake.socketPath, 'shutdown', '--keep-vms']);
  assert.equal(kept.code, 0, kept.stderr);
  assert.match(kept.stdout, /VMs keep running/);
  const refused = await runCtl(['-s', fake.socketPath, 'shutdown']);
  assert.equal(refused.code, 1);
  assert.equal(refused.stderr, 'vmstatedctl: only root may shutdown\n');
  assert.deepEqual(fake.requests.map((request) => request.args), [{ keepVms: true }, { keepVms: false }]);
});

test('logs -n N prints the lines the daemon returns', async (t) => {
  const fake = await daemon(t, (_request, connection) => connection.reply({ lines: ['line one', 'line two'] }));
  const result = await runCtl(['-s', fake.socketPath, 'logs', 'web', '-n', '2']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, 'line one\nline two\n');
  assert.deepEqual(fake.requests[0]!.args, { vm: 'web', n: 2, follow: false });
});

test('logs shows the control characters a guest wrote as cat -v does, and --json keeps them', async (t) => {
  const forged = 'X\x1b]0;PWNED\x07\x1b[2J\x1b[31mFAKE: vmstated: state running -> stopped\x1b[0m\x7f\u009b\tend\r';
  const fake = await daemon(t, (_request, connection) => connection.reply({ lines: [forged, 'plain'] }));
  const text = await runCtl(['-s', fake.socketPath, 'logs', 'web']);
  assert.equal(text.code, 0, text.stderr);
  assert.equal(text.stdout, 'X^[]0;PWNED^G^[[2J^[[31mFAKE: vmstated: state running -> stopped^[[0m^?M-^[\tend\nplain\n');
  const json = await runCtl(['-s', fake.socketPath, '--json', 'logs', 'web']);
  assert.deepEqual(JSON.parse(json.stdout), [forged, 'plain']);
});

test('logs -f streams lines until Ctrl-C, then exits 0', async (t) => {
  const fake = await daemon(t, (_request, connection) => {
    // vmstated streams {data: {lines}} and never sends a final reply: the client hangs up.
    connection.data({ lines: ['first'] });
    connection.data({ lines: ['second'] });
  });
  const result = await runCtl(['-s', fake.socketPath, 'logs', '-f', 'web'], {
    onSpawn(child) {
      let seen = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes('second\n')) child.kill('SIGINT');
      });
    },
  });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, 'first\nsecond\n');
  assert.deepEqual(fake.requests[0]!.args, { vm: 'web', n: 50, follow: true });
});

test('events prints one JSON line per event; a closed stream exits 3, Ctrl-C exits 0', async (t) => {
  const event = { type: 'launch' as const, vm: 'web', pid: 77, time: '2026-01-01T00:00:00.000Z' };
  let endStream = true;
  const fake = await daemon(t, (_request, connection) => {
    connection.reply({ subscribed: true });
    connection.event(event);
    connection.event({ ...event, pid: 78 });
    if (endStream) connection.end();
  });
  const closed = await runCtl(['-s', fake.socketPath, 'events', 'web']);
  assert.equal(closed.code, 3);
  assert.deepEqual(closed.stdout.trim().split('\n').map((line) => JSON.parse(line)), [event, { ...event, pid: 78 }]);
  assert.equal(closed.stderr, 'vmstatedctl: vmstated closed the event stream\n');
  assert.deepEqual(fake.requests[0]!.args, { vm: 'web' });

  endStream = false;
  const interrupted = await runCtl(['-s', fake.socketPath, 'events'], {
    onSpawn(child) {
      let lines = 0;
      child.stdout!.on('data', (chunk: Buffer) => {
        lines += chunk.toString().split('\n').length - 1;
        if (lines >= 2) child.kill('SIGINT');
      });
    },
  });
  assert.equal(interrupted.code, 0, interrupted.stderr);
  assert.equal(interrupted.stdout.trim().split('\n').length, 2);
});

test('top --once --json samples the bhyve and worker pids the daemon names', async (t) => {
  const deadPid = 2 ** 22 + 12345;
  const fake = await daemon(t, (_request, connection) =>
    connection.reply([
      { name: 'web', state: 'running', pid: process.pid, workerPid: deadPid },
      { name: 'db', state: 'stopped', pid: null, workerPid: null },
    ]),
  );
  const result = await runCtl(['--json', '-s', fake.socketPath, 'top', '--once']);
  assert.equal(result.code, 0, result.stderr);
  const [web, db] = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
  const bhyve = web!.bhyve as { pid: number; cpuPercent: number; rssBytes: number };
  assert.equal(bhyve.pid, process.pid);
  assert.equal(typeof bhyve.cpuPercent, 'number');
  assert.ok(bhyve.rssBytes > 1024 * 1024);
  assert.deepEqual(web!.worker, { pid: deadPid, cpuPercent: null, rssBytes: null });
  assert.deepEqual(db, { name: 'db', state: 'stopped', bhyve: null, worker: null });
  assert.deepEqual(fake.requests.map((request) => [request.cmd, request.args]), [['top', {}]]);
});

test('top --once prints the table', async (t) => {
  const fake = await daemon(t, (_request, connection) =>
    connection.reply([{ name: 'web', state: 'running', pid: process.pid, workerPid: null }]),
  );
  const result = await runCtl(['-s', fake.socketPath, 'top', '--once', 'web']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^NAME\s+STATE\s+BHYVE\s+CPU\s+RSS\s+WORKER\s+CPU\s+RSS\n/);
  assert.match(result.stdout, new RegExp(`^web\\s+running\\s+${process.pid}\\s+\\d+\\.\\d%\\s+\\d+\\.\\dM\\s+-\\s+-\\s+-$`, 'm'));
  assert.deepEqual(fake.requests[0]!.args, { vm: 'web' });
});

test('status --help documents the exit statuses and examples', async () => {
  const result = await runCtl(['status', '--help']);
  assert.equal(result.code, 0, result.stderr);
  const text = result.stdout.replace(/\s+/g, ' ');
  assert.match(text, /Exit status: 0 done; 1 failed or refused by vmstated; 2 usage error; 3 vmstated cannot be reached/);
  assert.match(result.stdout, /\$ vmstatedctl --json status/);
  assert.match(result.stdout, /VMSTATED_SOCKET/);
  assert.match(text, /logProblem \(why its log cannot be written right now, or null\)/, 'every JSON key is documented');
});

test('the root help says what vmstatedctl is and lists the global flags', async () => {
  const result = await runCtl(['--help']);
  assert.equal(result.code, 0, result.stderr);
  const [headline] = result.stdout.split('\n');
  assert.equal(headline, 'vmstatedctl controls vmstated(8), the supervisor of bhyve VMs.');
  assert.match(result.stdout, /^GLOBAL FLAGS.*\n {2}-s, --socket=<sockpath> +\[default: \/var\/run\/vmstated\.sock, env:\s+VMSTATED_SOCKET\] Path of the vmstated control socket\./m);
  assert.match(result.stdout, /^ {6}--json +Print machine-readable JSON instead of text\.$/m);
  assert.match(result.stdout, /^COMMANDS\n/m);
  const bare = await runCtl([]);
  assert.equal(bare.stdout, result.stdout, 'vmstatedctl alone prints the same');
});

test('top refreshes every -d seconds (asking the daemon again) until Ctrl-C, then exits 0', async (t) => {
  const fake = await daemon(t, (_request, connection) =>
    connection.reply([{ name: 'web', state: 'running', pid: process.pid, workerPid: null }]),
  );
  const result = await runCtl(['-s', fake.socketPath, '--json', 'top', '-d', '0.2'], {
    onSpawn(child) {
      let frames = 0;
      child.stdout!.on('data', (chunk: Buffer) => {
        frames += chunk.toString().split('\n').length - 1;
        if (frames >= 3) child.kill('SIGINT');
      });
    },
  });
  assert.equal(result.code, 0, result.stderr);
  const frames = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Array<{ name: string; bhyve: { pid: number } }>);
  assert.ok(frames.length >= 3);
  for (const frame of frames) assert.equal(frame[0]!.bhyve.pid, process.pid);
  assert.ok(fake.requests.length >= 3, `top asked ${fake.requests.length} times`);
});
