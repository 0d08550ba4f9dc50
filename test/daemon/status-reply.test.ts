/**
 * The `status` reply is joined from each VM's cached JSON: it must be byte for byte what encoding
 * the statuses afresh gives, and a cached fragment must never outlive a change of its VM.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { PeerCredentials } from '../../src/auth/peercred.js';
import { createRequestHandler } from '../../src/daemon/commands.js';
import { Registry } from '../../src/daemon/registry.js';
import type { ParsedRequest, RequestHandler, Session } from '../../src/daemon/server.js';
import { CONFIG_REMOVED_NOTE, bareConfig } from '../../src/daemon/vm-entry.js';
import type { VmEntry } from '../../src/daemon/vm-entry.js';
import { encodeLine } from '../../src/protocol/framing.js';
import { okReply } from '../../src/protocol/request.js';
import type { VmStatus } from '../../src/protocol/types.js';

const ROOT: PeerCredentials = { uid: 0, gid: 0, groups: [0], pid: 1 };

function newRegistry(t: { after(fn: () => void): void }, names: string[]): Registry {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmstated-status-reply-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const registry = new Registry({
    configdir: path.join(dir, 'conf'),
    rundir: path.join(dir, 'run'),
    logdir: path.join(dir, 'log'),
    bhyve: '/nonexistent/bhyve',
    bhyvectl: '/nonexistent/bhyvectl',
    verbose: false,
    log: pino({ level: 'silent' }),
  });
  for (const name of names) registry.addEntry(bareConfig(name, path.join(dir, 'conf', name, 'config')));
  return registry;
}

/** One request handler per registry, as in the daemon: its cache of the whole list lives across requests. */
const handlers = new WeakMap<Registry, RequestHandler>();

/** Sends `status` through the real request handler; returns the reply line exactly as written. */
async function statusLine(registry: Registry, id: string | number, vm?: string): Promise<string> {
  let handle = handlers.get(registry);
  if (handle === undefined) {
    handle = createRequestHandler({ registry, logdir: registry.options.logdir, reload: async () => assert.fail('no reload'), shutdown: () => {} });
    handlers.set(registry, handle);
  }
  const sent: string[] = [];
  const session: Session = { peer: ROOT, send: (message) => sent.push(encodeLine(message)) > 0, onClose: () => {}, openStream: () => () => {}, claimReplyBudget: () => () => {}, closed: false, ready: true, whenDrained: async () => {} };
  const request: ParsedRequest = { v: 1, id, cmd: 'status', args: vm === undefined ? {} : { vm } };
  await handle(request, session);
  assert.equal(sent.length, 1, 'one reply line');
  return sent[0]!;
}

/** The reply the handler must give: the statuses of these entries, encoded afresh. */
function freshLine(id: string | number, entries: VmEntry[]): string {
  return encodeLine(okReply<VmStatus[]>(id, entries.map((entry) => entry.status)));
}

test('status reply from cached JSON is byte-identical to encoding every status afresh', async (t) => {
  const registry = newRegistry(t, ['web', 'db', 'odd "name" é']);
  const entries = [...registry.entries.values()];
  for (const id of [1, 'a\n"b"', 'ü']) assert.equal(await statusLine(registry, id), freshLine(id, entries));
  assert.equal(await statusLine(registry, 7, 'db'), freshLine(7, [registry.mustGet('db')]));
  assert.equal(await statusLine(registry, 8), freshLine(8, entries), 'the whole list again after a one-VM list');
});

test('status shows a VM\'s change at once: its cached JSON is refreshed when its status is replaced', async (t) => {
  const registry = newRegistry(t, ['web', 'db']);
  const web = registry.mustGet('web');
  await statusLine(registry, 1); // fills the cache
  web.setRestingState('failed', 'hook start_network exited 3');
  let line = await statusLine(registry, 2);
  assert.equal(line, freshLine(2, [...registry.entries.values()]));
  const [listed] = (JSON.parse(line) as { result: VmStatus[] }).result;
  assert.equal(listed!.state, 'failed');
  assert.equal(listed!.failureReason, 'hook start_network exited 3');

  // A worker's report replaces the status object (as WorkerHandle's refresh does).
  web.status = { ...web.status, state: 'running', pid: 4242, workerPid: 4241, failureReason: null };
  line = await statusLine(registry, 3);
  assert.equal(line, freshLine(3, [...registry.entries.values()]));
  assert.match(line, /"name":"web","state":"running","pid":4242,"workerPid":4241/);
});

test('status shows a removed config at once, and its return: the cache follows configRemoved too', async (t) => {
  const registry = newRegistry(t, ['web']);
  const web = registry.mustGet('web');
  const before = await statusLine(registry, 1);
  web.keepWithoutConfig(); // same status object, but now shown with the removal note
  const removed = await statusLine(registry, 2);
  assert.equal(removed, freshLine(2, [web]));
  assert.equal((JSON.parse(removed) as { result: VmStatus[] }).result[0]!.description, CONFIG_REMOVED_NOTE);
  web.config = { ...web.config }; // a reload found its config again
  assert.equal(await statusLine(registry, 1), before);
});
