import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { VmStatus } from '../../src/protocol/types.js';
import { createVmstatedEnv, waitFor } from '../helpers/vmstated-env.js';
import { isAlive } from './cluster.js';

const FORKS_A_DAEMON = `
if command -v setsid >/dev/null; then detach=setsid; else detach=daemon; fi
$detach sh -c "echo \\$\\$ > '$VMSTATED_CONFIGDIR/daemon.pid'; sleep 30; echo late" &
echo "forked a daemon"
exit 0`;
const CLOSES_STDOUT = `
echo $$ > "$VMSTATED_CONFIGDIR/hook.pid"
echo "closing my output"
exec >&- 2>&-
sleep 60`;
// 2 MB in 100-byte lines, then one 1 MB line without a break, then a marker.
const PRINTS_MEGABYTES = `
head -c 2000000 /dev/zero | tr '\\0' x | fold -w 100
echo
head -c 1000000 /dev/zero | tr '\\0' y
echo
echo "END OF LOUD HOOK"`;

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

test('hooks that fork a daemon, close their output and hang, or print megabytes: no hang, the hung one fails at hooktimeout and is gone, the output is logged within its budget and the rest counted', { timeout: 90_000 }, async (t) => {
  const env = createVmstatedEnv('vmstated-hooks-');
  t.after(() => env.destroy());
  const forkerDir = env.writeVm('forker', {}, { hooks: { start_network: FORKS_A_DAEMON } });
  const muteDir = env.writeVm('mute', { hooktimeout: '2s' }, { hooks: { start_storage: CLOSES_STDOUT } });
  env.writeVm('loud', {}, { hooks: { start_network: PRINTS_MEGABYTES } });
  t.after(() => {
    const daemon = readPid(path.join(forkerDir, 'daemon.pid'));
    if (daemon !== undefined) try { process.kill(-daemon, 'SIGKILL'); } catch { /* gone */ }
  });
  await env.startDaemon();
  const client = await env.client();
  t.after(() => client.close());

  const started = Date.now();
  const settle = (vm: string) => client.request<{ status: VmStatus }>('start', { vm }, { timeoutMs: 60_000 })
    .then((reply) => ({ status: reply.status, ms: Date.now() - started }), (err: Error) => ({ error: err.message, ms: Date.now() - started }));
  const [forker, mute, loud] = await Promise.all([settle('forker'), settle('mute'), settle('loud')]);

  assert.equal('status' in forker && forker.status.state, 'running', `forker: ${JSON.stringify(forker)}`);
  assert.ok(forker.ms < 20_000, `the forked daemon holding the hook's output did not delay the start (${forker.ms} ms)`);
  const daemonPid = await waitFor('the forked daemon to write its pid', () => readPid(path.join(forkerDir, 'daemon.pid')));
  assert.equal(isAlive(daemonPid), true, 'the hook really left a daemon behind');
  assert.match(fs.readFileSync(path.join(env.logdir, 'forker.log'), 'utf8'), /forked a daemon/);

  assert.ok('error' in mute, `mute: ${JSON.stringify(mute)}`);
  assert.match(mute.error, /timed out after 2 s/);
  assert.ok(mute.ms < 30_000, `failed within hooktimeout plus grace (${mute.ms} ms)`);
  assert.equal((await env.status('mute')).state, 'failed');
  const hookPid = readPid(path.join(muteDir, 'hook.pid'))!;
  await waitFor('the hung hook to be killed', () => (isAlive(hookPid) ? undefined : true), 5_000);
  assert.match(fs.readFileSync(path.join(env.logdir, 'mute.log'), 'utf8'), /closing my output/);

  assert.equal('status' in loud && loud.status.state, 'running', `loud: ${JSON.stringify(loud)}`);
  const loudLog = fs.readFileSync(path.join(env.logdir, 'loud.log'), 'utf8');
  assert.match(loudLog, /: x{100}$/m, 'the first lines of the 2 MB are logged');
  assert.doesNotMatch(loudLog, /y{8193}/, 'no logged piece is longer than 8 KiB');
  // 20,000 lines of x, the 1 MB line in 123 pieces of at most 8 KiB, the marker: each piece is
  // either in the log or counted in a summary, whatever the timing.
  const source = 'hook start_network/stdout';
  const logged = loudLog.split('\n').filter((line) => line.includes(` ${source}: `) || line.includes(` ${source} (continued): `)).length;
  const dropped = [...loudLog.matchAll(/vmstated: (\d+) lines \(\d+ bytes\) of hook start_network\/stdout dropped: output flood/g)]
    .reduce((sum, match) => sum + Number(match[1]), 0);
  assert.ok(dropped > 0, 'the flood is summarized');
  assert.equal(logged + dropped, 20_000 + 123 + 1, `logged ${logged} + dropped ${dropped}`);
  assert.match(loudLog, /hook start_network succeeded/);
});

test('a bhyve that floods its console: the VM runs, the daemon answers meanwhile, the VM log holds the burst and counts the rest', { timeout: 60_000 }, async (t) => {
  const env = createVmstatedEnv('vmstated-flood-');
  t.after(() => env.destroy());
  env.writeVm('flood', {}, { bhyveLines: ['sim.flood=50000'] });
  env.writeVm('calm');
  await env.startDaemon();
  const client = await env.client();
  t.after(() => client.close());
  const { status } = await client.request<{ status: VmStatus }>('start', { vm: 'flood' });
  assert.equal(status.state, 'running');
  const { status: calm } = await client.request<{ status: VmStatus }>('start', { vm: 'calm' }, { timeoutMs: 20_000 });
  assert.equal(calm.state, 'running', 'another VM starts while the flood is logged');
  // Each summary counts what was dropped since the last one: every line is logged or counted.
  const file = path.join(env.logdir, 'flood.log');
  const count = (): { logged: number; dropped: number } => {
    const log = fs.readFileSync(file, 'utf8');
    const logged = log.match(/console flood line \d+ of 50000$/gm)?.length ?? 0;
    const dropped = [...log.matchAll(/vmstated: (\d+) lines \(\d+ bytes\) of bhyve\[\d+\]\/stdout dropped: output flood$/gm)]
      .reduce((sum, match) => sum + Number(match[1]), 0);
    return { logged, dropped };
  };
  const { logged, dropped } = await waitFor('every flood line logged or counted', () => {
    const counts = count();
    return counts.logged + counts.dropped >= 50_000 ? counts : undefined;
  });
  assert.ok(logged >= 900 && logged < 50_000, `the burst is logged, not the whole flood (${logged} lines, ${dropped} dropped)`);
  const { status: stopped } = await client.request<{ status: VmStatus }>('stop', { vm: 'flood' });
  assert.equal(stopped.state, 'stopped');
});
