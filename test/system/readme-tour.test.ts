/**
 * README.md's tour, as written: `npm run demo` in a throwaway copy of the checkout, under a
 * pseudo-terminal as a user runs it; then each line of the tour's code block, read from README.md
 * (a changed tour changes this test), in order, in a shell in the checkout and a terminal (a pty)
 * as a user types them, each exiting 0 as the README says: ~. detaches the console, Ctrl-C ends
 * events. Last, Ctrl-C in the demo's terminal stops everything, and the daemon gets one SIGINT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { VmStatus } from '../../src/protocol/types.js';
import { demoCheckout } from '../helpers/demo-checkout.js';
import { PROJECT_ROOT } from '../helpers/paths.js';
import { underPty } from '../helpers/pty.js';
import { processesMentioning, waitFor } from '../helpers/vmstated-env.js';

/** The commands of the tour's code block, comments dropped. */
function tourCommands(): string[] {
  const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const tour = readme.split(/^## A short tour$/m)[1]?.split(/^## /m)[0] ?? '';
  const block = /^```sh\n([^]*?)^```$/m.exec(tour);
  assert.ok(block, "README.md's tour has a sh code block");
  return block[1]!.split('\n').map((line) => line.replace(/(^|\s+)#\s.*$/, '').trim()).filter((line) => line !== '');
}

/** What the README's comment on a line promises, checked on what it printed. */
const PROMISES: Record<string, (output: string) => void> = {
  'vmstatedctl status': (output) => assert.match(output, /^db\s+running\b[^]*^web\s+running\b/m),
  'vmstatedctl start build': (output) => assert.match(output, /build: running/),
  'vmstatedctl logs web -n 20': (output) => assert.match(output, /console: /),
  'vmstatedctl status web': (output) => assert.match(output, /^web\s+running\s+\d+\s+\S+\s+1\b/m),
  'vmstatedctl --json status': (output) => assert.equal((JSON.parse(output) as VmStatus[]).length, 3),
  'vmstatedctl stop web': (output) => assert.match(output, /stopping[^]*stop_storage[^]*stop_network[^]*stopped/),
  'vmstated -n -c run/examples': (output) => assert.match(output, /^3 VMs ok, 0 rejected; 0 errors/m),
};

test('the README tour runs as written against npm run demo, each command exiting 0; Ctrl-C in the demo terminal then stops it with one SIGINT', { timeout: 180_000 }, async (t) => {
  const checkout = demoCheckout(t);
  const env = { ...process.env, PWD: checkout };
  const demo = underPty('npm run demo', { cwd: checkout, env });
  t.after(() => {
    demo.child.kill('SIGKILL');
    for (const pid of processesMentioning(checkout)) process.kill(pid, 'SIGKILL');
  });
  const shell = (line: string) => new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn('sh', ['-c', `${exports.join('\n')}\n${line}`], { cwd: checkout, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('close', (code) => resolve({ code, output }));
  });
  const statusOf = async (): Promise<VmStatus[]> => JSON.parse((await shell('vmstatedctl --json status')).output) as VmStatus[];
  const exports: string[] = [];

  await waitFor('the demo to serve and print its hints', () => (demo.output.includes('In another terminal') ? true : undefined), 60_000);
  assert.match(demo.output, /export PATH=\$PWD\/bin:\$PATH VMSTATED_SOCKET=\$PWD\/run\/vmstated\.sock/);
  assert.doesNotMatch(demo.output, /npx/);

  const promised = new Set<string>();
  let webBefore: VmStatus | undefined;
  for (const line of tourCommands()) {
    const context = `README tour: ${line}\n--- demo ---\n${demo.output}`;
    assert.doesNotMatch(line, /\bnpx\b|npm run build/, 'the tour runs the checkout as it is');
    if (line.startsWith('export ')) {
      exports.push(line);
      assert.equal((await shell('true')).code, 0, context);
      // The README's first status shows db and web started by themselves: a user reads the hints first.
      await waitFor('db and web to run', async () => ((await statusOf()).filter((vm) => vm.state === 'running').length === 2 ? true : undefined), 30_000);
      continue;
    }
    if (/^vmstatedctl console /.test(line)) {
      const session = underPty(`${exports.join('\n')}\n${line}`, { cwd: checkout, env });
      t.after(() => session.child.kill('SIGKILL'));
      await waitFor(`${line}: the login prompt`, () => (/login: $/.test(session.output) ? true : undefined));
      session.type('~.');
      assert.equal(await session.exitStatus(`${line} to detach`), 0, `${context}\n--- console ---\n${session.output}`);
      continue;
    }
    if (/^vmstatedctl events/.test(line)) {
      const session = underPty(`${exports.join('\n')}\n${line}`, { cwd: checkout, env });
      t.after(() => session.child.kill('SIGKILL'));
      // An event to see (a reload), until the stream shows one: it may not have subscribed yet.
      const pid = Number(fs.readFileSync(path.join(checkout, 'run', 'vmstated.pid'), 'utf8'));
      await waitFor(`${line}: a JSON line`, () => {
        if (/^\{"type":/m.test(session.output)) return true;
        process.kill(pid, 'SIGHUP');
        return undefined;
      });
      session.type('\x03');
      assert.equal(await session.exitStatus(`${line} to end at Ctrl-C`), 0, `${context}\n--- events ---\n${session.output}`);
      continue;
    }
    if (line.startsWith('vmstatedctl status web')) {
      // web rebooted (the line before): a user looks once the guest is back.
      await waitFor('web to run again after its reboot', async () => {
        const web = (await statusOf()).find((vm) => vm.name === 'web');
        return web?.state === 'running' && web.restarts === 1 ? web : undefined;
      }, 30_000);
    }
    if (line.includes('--sim-guest=reboot')) webBefore = (await statusOf()).find((vm) => vm.name === 'web');
    const session = underPty(`${exports.join('\n')}\n${line}`, { cwd: checkout, env });
    t.after(() => session.child.kill('SIGKILL'));
    const code = await session.exitStatus(line, 60_000);
    const output = session.output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
    assert.equal(code, 0, `${context}\n--- output ---\n${output}`);
    const promise = PROMISES[line];
    if (promise !== undefined) {
      promise(output);
      promised.add(line);
    }
    if (line.startsWith('vmstatedctl status web')) assert.notEqual((await statusOf()).find((vm) => vm.name === 'web')?.pid, webBefore?.pid, 'a new PID');
  }
  assert.deepEqual([...promised].sort(), Object.keys(PROMISES).sort(), 'every line this test knows is still in the tour');

  demo.type('\x03');
  // npm run ends with 128 + SIGINT when its script was interrupted (the demo itself exits 0).
  assert.equal(await demo.exitStatus('the demo to stop every VM and exit', 60_000), 130, demo.output);
  assert.match(demo.output, /shutting down/i);
  assert.doesNotMatch(demo.output, /already shutting down/, 'the daemon got one SIGINT');
  await waitFor('every process of the demo to be gone', () => (processesMentioning(checkout).length === 0 ? true : undefined));
});
