/**
 * A config problem shown to anyone but root names file, line, column and the kind of error, never
 * the file's content: a bhyve configfile that is a link to a root-only file must not show its
 * first line to the VM's owner (the reload a log rotation sends is enough to trigger it).
 */
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { problemsForUid, redactProblem } from '../../src/config/redact.js';
import type { ConfigProblem } from '../../src/config/types.js';
import { reachableCopy } from '../helpers/reachable.js';
import { waitFor } from '../helpers/vmstated-env.js';
import { NOBODY, asUid, ctlAsNobody, envOpenToNobody, problemsAsRoot, shAsNobody } from './hostile.js';

test('redaction: anyone but root gets the kind for the message; root gets everything', () => {
  const problem: ConfigProblem = {
    severity: 'error', file: '/etc/vmstated/web/bhyve_config', line: 1, column: 1, vm: 'web',
    message: 'bhyve would refuse this line and exit with status 4: "root:$6$x:19000::::::" is not key=value', kind: 'bhyve config error',
  };
  assert.deepEqual(redactProblem(problem), { ...problem, message: 'bhyve config error' });
  assert.deepEqual(problemsForUid(0, [problem]), [problem]);
  assert.deepEqual(problemsForUid(1001, [problem]), [{ ...problem, message: 'bhyve config error' }]);
});

test('a configfile linked to a root-only file: at reload root reads the problem in full, the VM owner where it is and its kind only', async (t) => {
  const env = envOpenToNobody(t, 'vmstated-sec-redact-');
  const secret = path.join(env.dir, 'shadow');
  fs.writeFileSync(secret, 'root:$6$SECRET-HASH:19000:0:99999:7:::\n', { mode: 0o600 });
  const leak = env.writeVm('leak', { owner: 'nobody' });
  const theirs = env.writeVm('theirs', { owner: 'nobody' });
  await env.startDaemon();

  // root linked it (the link passes the trust rule: root made it); the owner of `theirs` makes
  // one in a directory handed to them after the load (it does not pass).
  fs.rmSync(path.join(leak, 'bhyve_config'));
  fs.symlinkSync(secret, path.join(leak, 'bhyve_config'));
  fs.chownSync(theirs, NOBODY, NOBODY);
  assert.equal(shAsNobody(`ln -sf '${secret}' bhyve_config`, theirs).status, 0);
  const client = await env.client();
  t.after(() => client.close());
  await client.request('reload');

  const asRoot = await problemsAsRoot(env);
  assert.ok(asRoot.some((p) => p.message.includes('SECRET-HASH')), `root keeps the full message: ${JSON.stringify(asRoot)}`);
  const shown = ctlAsNobody(env, 'status');
  assert.equal(shown.status, 0, shown.stderr);
  assert.doesNotMatch(shown.stdout + shown.stderr, /SECRET|root:/);
  assert.ok(shown.stdout.includes(`${leak}/bhyve_config:1:1: error: bhyve config error`), shown.stdout);
  assert.ok(shown.stdout.includes(`${theirs}/config:0:0: error: file not trusted: owned by uid ${NOBODY}`), shown.stdout);
});

test('a reload\'s event, which counts every config\'s problems, reaches root\'s events stream only', async (t) => {
  const env = envOpenToNobody(t, 'vmstated-sec-events-');
  env.writeVm('mine', { owner: 'nobody' });
  const broken = env.writeVm('broken');
  await env.startDaemon();
  fs.appendFileSync(path.join(broken, 'config'), 'oops = ;\n');

  const events = spawn('setpriv', asUid(NOBODY, [process.execPath, reachableCopy().vmstatedctl, '-s', env.sockpath, 'events']), { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => events.kill('SIGKILL'));
  let seen = '';
  events.stdout.on('data', (chunk: Buffer) => (seen += chunk.toString()));
  const watcher = await env.client();
  t.after(() => watcher.close());
  const rootEvents: Array<{ type: string }> = [];
  await new Promise<void>((subscribed) => void watcher.events((event) => rootEvents.push(event), {}, subscribed));
  const root = await env.client();
  t.after(() => root.close());
  // nobody's stream is open once an event of its own VM reaches it: start or stop that VM until one does.
  let running = false;
  const toggleMine = async (): Promise<void> => {
    running = !running;
    await root.request(running ? 'start' : 'stop', { vm: 'mine' });
  };
  for (const deadline = Date.now() + 30_000; !seen.includes('"vm":"mine"'); ) {
    assert.ok(Date.now() < deadline, `nobody's events stream never opened: ${seen}`);
    await toggleMine();
  }

  await root.request('reload');
  // Events come in order on a stream: once one that follows the reload is there, the reload's would be too.
  const afterReload = seen.length;
  await toggleMine();
  await waitFor('an event after the reload on nobody\'s stream', () => (seen.slice(afterReload).includes('"vm":"mine"') ? true : undefined));
  assert.ok(rootEvents.some((event) => event.type === 'config'), `root sees the reload: ${JSON.stringify(rootEvents)}`);
  assert.doesNotMatch(seen, /"type":"config"|"problems"/);
});
