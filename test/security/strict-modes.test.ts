/**
 * Strict modes against a hostile VM owner (nobody) and a root daemon: a hook or a bhyve config the
 * owner can write is never run or handed to bhyve, at load (`vmstated -n`, the VM is not loaded)
 * and at use (files change after a load: the step fails saying why); a directory swapped for a
 * link while VMs start never gets a file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { NOBODY, ctlAsNobody, envOpenToNobody, shAsNobody, shAsNobodyInBackground } from './hostile.js';

/** A hook that leaves `<marker>.<vm>` behind when root runs it. */
const markingHook = (marker: string): string => `touch "${marker}.$VMSTATED_VM"`;

test('hooks others can write never run: vmstated -n names them, their VMs are not loaded, the others are; a hook that changes after the load fails its step', async (t) => {
  const env = envOpenToNobody(t, 'vmstated-sec-hooks-');
  const marker = path.join(env.dir, 'ran');
  const hooks = { start_network: markingHook(marker) };
  const open = env.writeVm('open', { owner: 'nobody' }, { hooks });
  fs.chmodSync(path.join(open, 'start_network'), 0o777);
  const theirs = env.writeVm('theirs', { owner: 'nobody' }, { hooks });
  fs.chownSync(theirs, NOBODY, NOBODY);
  const good = env.writeVm('good', { owner: 'nobody' }, { hooks });
  const later = env.writeVm('later', { owner: 'nobody' }, { hooks });

  const check = await env.runVmstated(['-n']);
  assert.equal(check.status, 1, check.stderr);
  assert.ok(check.stderr.includes(`${open}/start_network: error: hook script start_network is not trusted: ${open}/start_network: writable by group and others`), check.stderr);
  assert.ok(check.stderr.includes(`${theirs}/config: error: VM directory ${theirs} is not trusted: ${theirs}: owned by uid ${NOBODY}`), check.stderr);
  assert.match(check.stdout, /^2 VMs ok, 2 rejected; 2 errors/);

  await env.startDaemon();
  for (const vm of ['open', 'theirs']) {
    const refused = ctlAsNobody(env, 'start', vm);
    assert.equal(refused.status, 1, `${vm} is not loaded`);
    assert.match(refused.stderr, new RegExp(`no VM named "${vm}"`));
  }
  const started = ctlAsNobody(env, 'start', 'good');
  assert.equal(started.status, 0, started.stderr);
  assert.ok(fs.existsSync(`${marker}.good`), 'a hook that passes runs');

  // After the load: the hook made world-writable, and the VM directory given to the owner, who
  // puts a hook of their own in it. Neither runs; each start fails and says why.
  fs.chmodSync(path.join(good, 'start_network'), 0o777);
  fs.chownSync(later, NOBODY, NOBODY);
  const planted = shAsNobody(`rm -f start_network && printf '#!/bin/sh\\ntouch ${marker}.pwned\\n' > start_network && chmod 755 start_network`, later);
  assert.equal(planted.status, 0, planted.stderr);
  assert.equal(ctlAsNobody(env, 'stop', 'good').status, 0);
  fs.rmSync(`${marker}.good`);
  for (const [vm, why] of [['good', `${good}/start_network: writable by group and others`], ['later', `${later}: owned by uid ${NOBODY}`]] as const) {
    const refused = ctlAsNobody(env, 'start', vm);
    assert.equal(refused.status, 1, `${vm}: ${refused.stdout}`);
    assert.ok(refused.stderr.includes('not trusted'), refused.stderr);
    const status = await env.status(vm);
    assert.equal(status.state, 'failed');
    assert.equal(status.failureReason, `hook start_network failed: not run: it is not trusted: ${why}`);
  }
  assert.deepEqual(fs.readdirSync(env.dir).filter((name) => name.startsWith('ran.')), [], 'no hook ran');
});

test('a bhyve config directory swapped for a link while its VM starts, again and again: every start fails saying why, no file appears anywhere else', async (t) => {
  const env = envOpenToNobody(t, 'vmstated-sec-race-');
  const vmdir = env.writeVm('race', { owner: 'nobody', configfile: 'store/bhyve_config', maxrestart: 0 });
  fs.mkdirSync(path.join(vmdir, 'store'));
  fs.renameSync(path.join(vmdir, 'bhyve_config'), path.join(vmdir, 'store/bhyve_config'));
  const cron = path.join(env.dir, 'cron.d'); // root's, as /etc/cron.d is
  fs.mkdirSync(cron, { mode: 0o755 });
  await env.startDaemon();
  assert.equal(ctlAsNobody(env, 'start', 'race').status, 0, 'it starts while its directory is root\'s');
  assert.equal(ctlAsNobody(env, 'stop', 'race').status, 0);

  // The admin hands the directory to the VM's owner after the load; the owner swaps `store` for a
  // link to the cron directory and back, as fast as it can, with a .generated link planted too.
  fs.chownSync(vmdir, NOBODY, NOBODY);
  const swapper = shAsNobodyInBackground(`cd '${vmdir}' && mkdir decoy && ln -s '${cron}/evil' decoy/bhyve_config.generated && ` +
    `while :; do mv store real; ln -s '${cron}' store; rm store; mv decoy store; mv store decoy; mv real store; done`);
  t.after(() => swapper.stop());
  for (let round = 0; round < 2; round++) {
    const refused = ctlAsNobody(env, 'start', 'race');
    assert.equal(refused.status, 1, `round ${round}: ${refused.stdout}`);
    assert.match((await env.status('race')).failureReason ?? '', /not trusted: .*owned by uid 65534/, `round ${round}`);
    assert.equal(ctlAsNobody(env, 'failreset', 'race').status, 0);
  }
  await swapper.stop();
  assert.deepEqual(fs.readdirSync(cron), [], 'nothing was written into the directory the link pointed to');
});
