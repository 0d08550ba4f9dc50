/**
 * The relaunch after a guest reboot: the shell that becomes bhyve is forked while the vmm
 * instance is destroyed, but bhyve itself starts only after the destroy; a relaunch that does not
 * go ahead leaves nothing waiting.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { processesMentioning, waitFor } from '../helpers/vmstated-env.js';
import { VmFixture } from './harness.js';

/** bhyve stand-in: notes its start in `order`; the first boot reboots (exit 0) at once, later ones run. */
const ORDER_BHYVE = `#!/bin/sh
d=$(dirname "$0")
echo "$$" >> "$d/bhyve.pids"
echo "bhyve starts" >> "$d/order"
if [ ! -f "$d/booted" ]; then : > "$d/booted"; exit 0; fi
trap 'exit 1' TERM
while :; do sleep 0.05; done
`;

/**
 * bhyvectl stand-in: a slow --destroy (as under load), noted in `order` when it begins and when it
 * ends, with the number of shells then waiting to become this VM's bhyve (the keeper's `sh -c`
 * child; the keeper's own command line names vmstated-keeper).
 */
const SLOW_DESTROY = `#!/bin/sh
d=$(dirname "$0")
echo "destroy begins" >> "$d/order"
sleep 0.3
waiting=$(ps -ax -ww -o args= | grep -F -- "$d-order-bhyve" | grep -v vmstated-keeper | grep -c '^/bin/sh -c ')
echo "destroy ends; shells waiting to become bhyve: $waiting" >> "$d/order"
echo "VM:web is not created."
exit 1
`;

function orderBhyve(root: string): string {
  const file = path.join(root, '..', `${path.basename(root)}-order-bhyve`);
  fs.writeFileSync(file, ORDER_BHYVE.replace('d=$(dirname "$0")', `d=${root}`), { mode: 0o755 });
  return file;
}

test('guest reboot: bhyve is exec\'d only once bhyvectl --destroy has finished, though its shell was forked meanwhile', async (t) => {
  const vm = new VmFixture(t);
  const bhyve = orderBhyve(vm.root);
  t.after(() => fs.rmSync(bhyve, { force: true }));
  const api = await vm.spawn({ bhyve, bhyvectl: vm.script('slow-bhyvectl', SLOW_DESTROY) });
  assert.equal((await api.start()).ok, true);
  await vm.waitForState('running', 10_000, 2);
  await waitFor('the relaunched bhyve to start', () => (fs.readFileSync(path.join(vm.root, 'order'), 'utf8').split('\n').length > 6 ? true : undefined), 5_000);
  assert.deepEqual(fs.readFileSync(path.join(vm.root, 'order'), 'utf8').trim().split('\n'), [
    'destroy begins', 'destroy ends; shells waiting to become bhyve: 1', 'bhyve starts', // cold start
    'destroy begins', 'destroy ends; shells waiting to become bhyve: 1', 'bhyve starts', // relaunch after the reboot
  ]);
  assert.equal((await vm.events()).filter((event) => event.type === 'launch').length, 2);
});

test('a relaunch refused by the restart window leaves no shell waiting to become bhyve, and no bhyve', async (t) => {
  const vm = new VmFixture(t, { config: { maxrestart: 0 } });
  const bhyve = orderBhyve(vm.root);
  t.after(() => fs.rmSync(bhyve, { force: true }));
  const api = await vm.spawn({ bhyve });
  await api.start();
  const failed = await vm.waitForState('failed', 10_000);
  assert.ok(failed.type === 'state' && /restarted too often/.test(failed.failureReason ?? ''));
  assert.equal((await vm.events()).filter((event) => event.type === 'launch').length, 1);
  await waitFor('the waiting shell to exit', () => (processesMentioning(bhyve).length === 0 ? true : undefined), 5_000);
  assert.equal(fs.readFileSync(path.join(vm.root, 'order'), 'utf8'), 'bhyve starts\n', 'bhyve ran once: the cold start');
});
