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

test('hooks that fork a daemon, close their output and hang, or print megabytes: no hang, the hung one fails at hooktimeout and is gone, the output is logged to its end', { timeout: 90_000 }, async (t) => {
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
  assert.equal(loudLog.match(/: x{100}$/gm)?.length, 20_000, 'every line of the 2 MB');
  assert.match(loudLog, /: y{1000000}$/m, 'the 1 MB line whole');
  assert.match(loudLog, /END OF LOUD HOOK[\s\S]*hook start_network succeeded/);
});

test('a bhyve that floods its console: the VM runs, the daemon answers meanwhile, every console line reaches the VM log', { timeout: 60_000 }, async (t) => {
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
  const file = path.join(env.logdir, 'flood.log');
  await waitFor('the last console line in the log', () => (fs.readFileSync(file, 'utf8').includes('console flood line 50000 of 50000') ? true : undefined), 30_000);
  assert.equal(fs.readFileSync(file, 'utf8').match(/console flood line \d+ of 50000$/gm)?.length, 50_000);
  const { status: stopped } = await client.request<{ status: VmStatus }>('stop', { vm: 'flood' });
  assert.equal(stopped.state, 'stopped');
});
