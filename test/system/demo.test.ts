/**
 * `npm run demo` keeps every file it makes under ./run, as README.md promises: run bin/demo.js in a
 * throwaway copy of the checkout (its own bin/, examples/ and package.json; dist/ linked), let the
 * daemon launch the first autostarted VM (a launch writes a generated bhyve config), try a second
 * demo beside it, hang it up, then compare the checkout with what it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bootromKey } from '../../src/config/bootrom.js';
import { isProcessAlive } from '../../src/shared/process.js';
import { demoCheckout } from '../helpers/demo-checkout.js';
import { waitFor } from '../helpers/vmstated-env.js';

/** Every path under `root` (not following links) with its size and mtime. */
function snapshot(root: string, dir = root, into = new Map<string, string>()): Map<string, string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    const stat = fs.lstatSync(file);
    into.set(path.relative(root, file), `${stat.size}/${stat.mtimeMs}`);
    if (entry.isDirectory()) snapshot(root, file, into);
  }
  return into;
}

test('npm run demo leaves nothing outside ./run; its copy of the examples has a stand-in boot ROM and strict modes', { timeout: 90_000 }, async (t) => {
  const checkout = demoCheckout(t);
  const before = snapshot(checkout);

  const demo = spawn(process.execPath, [path.join(checkout, 'bin', 'demo.js')], { cwd: checkout, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  demo.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  demo.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
  t.after(() => demo.kill('SIGKILL'));
  const copy = path.join(checkout, 'run', 'examples');
  try {
    await waitFor('db, the first autostarted VM, to be launched (its generated config written)', () =>
      (fs.existsSync(path.join(copy, 'db', 'bhyve_config.generated')) ? true : undefined), 45_000);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- demo output ---\n${output}`);
  }
  // A second demo in the same checkout refuses at once and leaves the first one's files alone.
  const second = spawnSync(process.execPath, [path.join(checkout, 'bin', 'demo.js')], { cwd: checkout, encoding: 'utf8', timeout: 30_000 });
  assert.equal(second.status, 1, second.stderr);
  assert.match(second.stderr, /^demo: a vmstated already serves run\/vmstated\.sock \(pid \d+\): this checkout's demo is running;/);
  assert.ok(fs.existsSync(path.join(copy, 'db', 'bhyve_config.generated')), 'the running demo\'s copy is untouched');

  // The terminal closing (SIGHUP) stops the demo as Ctrl-C does: every VM, then the daemon.
  const daemonPid = Number(fs.readFileSync(path.join(checkout, 'run', 'vmstated.pid'), 'utf8'));
  demo.kill('SIGHUP');
  assert.equal(await exited, 0, output);
  assert.equal(isProcessAlive(daemonPid), false, 'the daemon exited');
  assert.match(fs.readFileSync(path.join(checkout, 'run', 'log', 'db.log'), 'utf8'), /-> stopped\b/);

  const after = snapshot(checkout);
  const outside = [...after].filter(([file, stamp]) => !file.startsWith(`run${path.sep}`) && file !== 'run' && before.get(file) !== stamp);
  assert.deepEqual(outside.map(([file]) => file), [], 'files made or changed outside ./run');
  assert.ok(before.size === [...after.keys()].filter((file) => !file.startsWith('run')).length, 'nothing removed outside ./run');

  const rom = path.join(checkout, 'run', 'bhyve-sim', 'BHYVE_UEFI.fd');
  assert.ok(fs.statSync(rom).isFile());
  assert.match(fs.readFileSync(path.join(copy, 'web', 'bhyve_config'), 'utf8'), new RegExp(`^${bootromKey() ?? 'lpc.bootrom'}=${rom}$`, 'm'));
  assert.match(fs.readFileSync(path.join(checkout, 'examples', 'web', 'bhyve_config'), 'utf8'), /^lpc\.bootrom=\/usr\/local\/share\/uefi-firmware\/BHYVE_UEFI\.fd$/m, 'the examples keep the real path');
  for (const vm of ['build', 'db', 'web']) {
    const dir = path.join(copy, vm);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o755, dir);
    for (const file of fs.readdirSync(dir).filter((name) => !name.endsWith('.generated'))) {
      const executable = (fs.statSync(path.join(checkout, 'examples', vm, file)).mode & 0o111) !== 0;
      assert.equal(fs.statSync(path.join(dir, file)).mode & 0o777, executable ? 0o755 : 0o644, `${vm}/${file}`);
    }
  }
});

test('npm run demo in a checkout its group may write (a umask of 002) says so and what to do, and starts nothing', async (t) => {
  const checkout = demoCheckout(t);
  fs.chmodSync(checkout, 0o775);
  const demo = spawn(process.execPath, [path.join(checkout, 'bin', 'demo.js')], { cwd: checkout, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  demo.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => demo.once('exit', (exitCode) => resolve(exitCode)));
  assert.equal(code, 1);
  assert.match(stderr, new RegExp(`vmstated would refuse every VM under ${checkout}: ${checkout}: writable by group\\n.*chmod -R go-w ${checkout}`));
  assert.equal(fs.existsSync(path.join(checkout, 'run')), false, 'nothing made');
});
