/**
 * A VM's owner (nobody, switched to with setpriv) pipelines lifecycle commands with wait:false
 * against a real daemon running as root. Only a few wait on the VM (the rest are refused with
 * LIMIT), a stop supersedes the waiting ones (but not another stop), so root's stop runs right after the step under way,
 * and a shutdown drops them at once with one line in the log.
 *
 * web's `restarting` hook holds the first restart until the test creates a file: while it runs,
 * everything else the owner sends has to wait, so what waits and what is refused does not depend
 * on timing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { MAX_WAITING_COMMANDS } from '../../src/daemon/lifecycle-queue.js';
import type { ControlClient } from '../../src/protocol/client.js';
import type { VmEvent, VmState, VmStatus } from '../../src/protocol/types.js';
import { isProcessAlive } from '../../src/shared/process.js';
import { waitFor } from '../helpers/vmstated-env.js';
import type { VmstatedEnv } from '../helpers/vmstated-env.js';
import { Hostile, NOBODY, ctlAsNobody, envOpenToNobody } from './hostile.js';
import type { PipelinedReply } from './hostile.js';

interface Lifecycle {
  cmd: 'start' | 'stop' | 'restart';
  wait: boolean;
}

function requests(commands: readonly Lifecycle[]): object[] {
  return commands.map(({ cmd, wait }, id) => ({ v: 1, id, cmd, args: { vm: 'web', wait } }));
}

const LIMIT_MESSAGE = `VM "web" already has ${MAX_WAITING_COMMANDS} commands waiting, the limit per VM; try again when they have run`;

/**
 * web, owned by nobody and running, whose restarts stop in their `restarting` hook until release()
 * is called; the states of its state events, as root's event stream brings them.
 */
async function webHeldInRestarts(env: VmstatedEnv, t: { after(fn: () => unknown): void }): Promise<{ root: ControlClient; states: VmState[]; release(): void }> {
  const releaseFile = path.join(env.dir, 'release-restart');
  env.writeVm('web', { owner: 'nobody', hooktimeout: '120s' }, { hooks: { restarting: `while [ ! -e '${releaseFile}' ]; do sleep 0.05; done` } });
  await env.startDaemon();
  const root = await env.client();
  const watcher = await env.client();
  t.after(() => {
    root.close();
    watcher.close();
  });
  const states: VmState[] = [];
  await new Promise<void>((subscribed, failed) => {
    watcher.events((event: VmEvent) => {
      // A state whose hook runs first comes twice (the second brings forceAt): one step, counted once.
      if (event.type === 'state' && event.vm === 'web' && states.at(-1) !== event.state) states.push(event.state);
    }, { vm: 'web' }, subscribed).catch(failed);
  });
  await root.request('start', { vm: 'web' });
  await waitFor('root\'s event stream to carry the start', () => (states.includes('running') ? true : undefined));
  return { root, states, release: () => fs.writeFileSync(releaseFile, '') };
}

/** The messages of the daemon log (JSON lines). */
function logMessages(env: VmstatedEnv): string[] {
  return env.daemonLog().split('\n').filter((line) => line !== '').map((line) => String((JSON.parse(line) as { msg?: unknown }).msg));
}

function byId(replies: readonly PipelinedReply[]): Map<unknown, PipelinedReply> {
  return new Map(replies.map((reply) => [reply.id, reply]));
}

test('the owner pipelines 40 restarts and stops: only a few wait, the rest are refused with LIMIT; root\'s stop supersedes the waiting ones and runs after the restart under way', { timeout: 120_000 }, async (t) => {
  const env = envOpenToNobody(t, 'vmstated-lifecycle-flood-');
  const { root, states, release } = await webHeldInRestarts(env, t);
  const startOfFlood = states.length;

  // A restart that runs (held in its hook), a stop and 3 restarts that wait for their outcome (the
  // bound's worth waiting), and 35 restarts over the bound.
  const waitingForOutcome: Lifecycle[] = Array.from({ length: MAX_WAITING_COMMANDS - 1 }, () => ({ cmd: 'restart', wait: true }));
  const overBound: Lifecycle[] = Array.from({ length: 40 - 2 - waitingForOutcome.length }, () => ({ cmd: 'restart', wait: false }));
  const flood: Lifecycle[] = [{ cmd: 'restart', wait: false }, { cmd: 'stop', wait: false }, ...waitingForOutcome, ...overBound];
  const owner = Hostile.pipeline(NOBODY, env.sockpath, requests(flood));
  t.after(() => owner.stop());

  const answeredAtOnce = byId(await owner.replies(flood.length - waitingForOutcome.length));
  const accepted = [...answeredAtOnce.values()].filter((reply) => reply.ok).map((reply) => reply.id);
  const refused = [...answeredAtOnce.values()].filter((reply) => !reply.ok);
  assert.deepEqual(accepted.sort((a, b) => Number(a) - Number(b)), [0, 1], 'the restart under way and the stop are accepted at once');
  assert.equal(refused.length, overBound.length, 'every command over the bound is refused: the queue does not grow');
  for (const reply of refused) {
    assert.deepEqual(reply.error, { code: 'LIMIT', message: `request ${reply.id} (restart): ${LIMIT_MESSAGE}` });
  }
  await waitFor('web to be held in its restarting hook', () => (states.includes('restarting') ? true : undefined));
  const cli = ctlAsNobody(env, 'restart', 'web');
  assert.equal(cli.status, 1, 'vmstatedctl reports the refusal as a failure');
  assert.ok(cli.stderr.includes(LIMIT_MESSAGE), cli.stderr);

  // Root is held to the bound too, but a stop makes room: it ends every waiting command but a stop.
  const rootRestart = root.request('restart', { vm: 'web', wait: false });
  await assert.rejects(rootRestart, (err: Error & { code?: string }) => err.code === 'LIMIT' && err.message.endsWith(LIMIT_MESSAGE));
  const rootStop = root.request<{ ok: boolean; status: VmStatus }>('stop', { vm: 'web' });
  // While the restart is still held: those that waited for their outcome are told at once.
  const all = byId(await owner.replies(flood.length));
  for (let id = 2; id < 2 + waitingForOutcome.length; id++) {
    assert.deepEqual(all.get(id)?.error, { code: 'INVALID_STATE', message: `request ${id} (restart): VM "web": superseded by a stop before it ran` });
  }
  assert.equal(states.filter((state) => state === 'restarting').length, 1);
  assert.equal(states.at(-1), 'restarting', 'the restart is still held in its hook');

  release();
  const stopped = await rootStop;
  assert.equal(stopped.status.state, 'stopped');
  // One restart cycle (the one under way), then the owner's stop (root's finds web stopped): no queued restart ran.
  assert.deepEqual(states.slice(startOfFlood), ['restarting', 'restarted', 'running', 'stopping', 'stop_storage', 'stop_network', 'stopped']);
  assert.equal((await env.status('web')).state, 'stopped');

  const log = logMessages(env);
  assert.equal(log.at(log.indexOf('web: a stop superseded 3 waiting commands', log.indexOf('request 5 (restart) refused: ' + LIMIT_MESSAGE + ' (further refusals of this user in the next minute are not logged)')) + 1), 'stop web requested', 'root\'s stop ended the three waiting restarts, not the owner\'s stop');
  // Only what was queued is logged as requested: a flood of refusals does not grow the log.
  const queued = [...all.values()].filter((reply) => reply.error?.code !== 'LIMIT').length;
  assert.equal(queued, flood.length - overBound.length);
  assert.equal(log.filter((msg) => /^(restart|stop) web requested$/.test(msg)).length, queued + 1, 'the owner\'s commands that were queued, and root\'s stop');
  assert.equal(log.filter((msg) => msg === 'command failed').length, 0, 'a superseded command is not an error of its own');
  assert.equal(log.filter((msg) => msg.includes(LIMIT_MESSAGE)).length, 2, 'refusals are logged once a minute per user: nobody\'s first, root\'s');
});

test('a shutdown drops the commands waiting on a VM at once, with one line in the log; meanwhile start and restart are refused', { timeout: 120_000 }, async (t) => {
  const env = envOpenToNobody(t, 'vmstated-lifecycle-shutdown-');
  const { states, release } = await webHeldInRestarts(env, t);
  const daemonPid = env.daemonPid()!;

  // One restart under way, the bound's worth waiting (the last one for its outcome), the rest refused.
  const flood: Lifecycle[] = Array.from({ length: 20 }, (_, id) => ({ cmd: 'restart', wait: id === MAX_WAITING_COMMANDS }));
  const owner = Hostile.pipeline(NOBODY, env.sockpath, requests(flood));
  t.after(() => owner.stop());
  const atOnce = await owner.replies(flood.length - 1);
  assert.equal(atOnce.filter((reply) => reply.error?.code === 'LIMIT').length, flood.length - 1 - MAX_WAITING_COMMANDS);
  await waitFor('web to be held in its restarting hook', () => (states.includes('restarting') ? true : undefined));

  process.kill(daemonPid, 'SIGTERM');
  const dropped = byId(await owner.replies(flood.length)).get(MAX_WAITING_COMMANDS);
  assert.deepEqual(dropped?.error, {
    code: 'INVALID_STATE',
    message: `request ${MAX_WAITING_COMMANDS} (restart): VM "web": dropped before it ran: vmstated is shutting down`,
  });

  // The daemon waits for the restart under way before it stops web: it still answers.
  // Nor can a stop of the owner's end the shutdown's own stop of web (the daemon would exit with web running).
  const late = Hostile.pipeline(NOBODY, env.sockpath, [
    ...requests([{ cmd: 'restart', wait: false }, { cmd: 'start', wait: false }, { cmd: 'stop', wait: false }]),
    { v: 1, id: 3, cmd: 'failreset', args: { vm: 'web' } },
  ]);
  t.after(() => late.stop());
  const lateReplies = byId(await late.replies(4));
  assert.deepEqual(lateReplies.get(0)?.error, { code: 'INVALID_STATE', message: 'request 0 (restart): vmstated is shutting down; it starts no VM now' });
  assert.deepEqual(lateReplies.get(1)?.error, { code: 'INVALID_STATE', message: 'request 1 (start): vmstated is shutting down; it starts no VM now' });
  assert.deepEqual(lateReplies.get(2)?.error, { code: 'INVALID_STATE', message: 'request 2 (stop): vmstated is shutting down; it stops every VM itself' });
  assert.deepEqual(lateReplies.get(3)?.error, { code: 'INVALID_STATE', message: 'request 3 (failreset): vmstated is shutting down; it resets no VM now' });
  assert.equal(states.at(-1), 'restarting', 'the restart is still held in its hook');

  release();
  await waitFor('the daemon to exit', () => (isProcessAlive(daemonPid) ? undefined : true), 60_000);
  const log = logMessages(env);
  assert.deepEqual(log.filter((msg) => /dropped|command failed/.test(msg)), [`shutting down: ${MAX_WAITING_COMMANDS} waiting commands dropped`], 'one line for all');
  await waitFor('root\'s event stream to carry the stop', () => (states.at(-1) === 'stopped' ? true : undefined));
  assert.equal(states.filter((state) => state === 'restarting').length, 1, 'no queued restart ran');
});

test('a stop never ends another: root\'s stop waiting behind the owner\'s restart runs, whatever the owner sends meanwhile', { timeout: 120_000 }, async (t) => {
  const env = envOpenToNobody(t, 'vmstated-lifecycle-stops-');
  const { root, states, release } = await webHeldInRestarts(env, t);
  const restart = Hostile.pipeline(NOBODY, env.sockpath, requests([{ cmd: 'restart', wait: false }]));
  t.after(() => restart.stop());
  await restart.replies(1);
  await waitFor('web to be held in its restarting hook', () => (states.includes('restarting') ? true : undefined));
  const rootStop = root.request<{ ok: boolean; status: VmStatus }>('stop', { vm: 'web' });
  await waitFor('root\'s stop to wait on web', () => (logMessages(env).includes('stop web requested') ? true : undefined));

  // The owner's stop (it shares root's) then start, behind root's stop: neither ends it.
  const owner = Hostile.pipeline(NOBODY, env.sockpath, requests([{ cmd: 'stop', wait: false }, { cmd: 'start', wait: false }]));
  t.after(() => owner.stop());
  assert.deepEqual((await owner.replies(2)).map((reply) => reply.error), [undefined, undefined]);
  release();
  const stopped = await rootStop;
  assert.deepEqual([stopped.ok, stopped.status.state], [true, 'stopped'], 'root\'s stop ran and stopped web');
  assert.equal(logMessages(env).filter((msg) => msg.includes('superseded')).length, 0);
  // Then the owner's start: web runs again, by its owner's start.
  await waitFor('the owner\'s start to run', () => (states.at(-1) === 'running' && states.lastIndexOf('stopped') > states.indexOf('restarting') ? true : undefined));
});
