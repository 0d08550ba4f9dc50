import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ControlClient } from '../../src/protocol/client.js';
import { createVmstatedEnv } from '../helpers/vmstated-env.js';
import { bhyvesByVm, doubledVms, overlappingLaunches, recordEvents, seededRandom, statusAll, vmNames, vmmRecords } from '../faults/cluster.js';

const CLIENTS = 100;
const COMMANDS_PER_CLIENT = 2;
const VMS = 20;
const SEED = 20261125;
const COMMANDS = ['start', 'stop', 'restart'] as const;
type Command = (typeof COMMANDS)[number];

test(`${CLIENTS} clients sending conflicting start/stop/restart for ${VMS} VMs: never two bhyves for a VM, each VM ends as its last completed command left it, status answered throughout`, { timeout: 180_000 }, async (t) => {
  const env = createVmstatedEnv('vmstated-load-');
  t.after(() => env.destroy());
  const names = vmNames(VMS);
  for (const name of names) env.writeVm(name, { maxrestart: 100 });
  await env.startDaemon();
  const events = recordEvents(await env.client());
  const random = seededRandom(SEED);

  let done = false;
  const statusTimes: number[] = [];
  const statusErrors: string[] = [];
  const poller = (async () => {
    const client = await env.client();
    while (!done) {
      const started = Date.now();
      try {
        const list = await statusAll(client);
        if (list.length !== VMS) statusErrors.push(`status listed ${list.length} VMs`);
      } catch (err) {
        statusErrors.push((err as Error).message);
      }
      statusTimes.push(Date.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    client.close();
  })();
  const doubles: string[] = [];
  const sampler = setInterval(() => doubles.push(...doubledVms(env)), 500);
  t.after(() => clearInterval(sampler));

  // The last reply each VM got, in the order replies arrived.
  const lastReply = new Map<string, { cmd: Command; ok: boolean; message: string }>();
  const refusals: string[] = [];
  const plans = Array.from({ length: CLIENTS }, () =>
    Array.from({ length: COMMANDS_PER_CLIENT }, () => ({
      vm: names[Math.floor(random() * VMS)]!,
      cmd: COMMANDS[Math.floor(random() * COMMANDS.length)]!,
    })));
  const clients: ControlClient[] = await Promise.all(plans.map(() => env.client()));
  await Promise.all(plans.map(async (plan, i) => {
    for (const { vm, cmd } of plan) {
      try {
        await clients[i]!.request(cmd, { vm }, { timeoutMs: 120_000 });
        lastReply.set(vm, { cmd, ok: true, message: '' });
      } catch (err) {
        lastReply.set(vm, { cmd, ok: false, message: (err as Error).message });
        refusals.push(`${cmd} ${vm}: ${(err as Error).message}`);
      }
    }
    clients[i]!.close();
  }));
  done = true;
  await poller;
  clearInterval(sampler);

  assert.deepEqual(statusErrors, [], 'every status request was answered');
  t.diagnostic(`status during the storm: ${statusTimes.length} requests, max ${Math.max(...statusTimes)} ms`);
  t.diagnostic(`${refusals.length} refused commands${refusals.length ? `, e.g. ${refusals[0]}` : ''}`);
  assert.deepEqual(doubles, [], 'no VM ever had two bhyve processes');
  assert.deepEqual(overlappingLaunches(events), [], 'no bhyve launched while the VM\'s previous one ran');

  const final = new Map((await statusAll(await env.client())).map((s) => [s.name, s]));
  const bhyves = bhyvesByVm(env);
  const records = vmmRecords(env);
  for (const vm of names) {
    const status = final.get(vm)!;
    const last = lastReply.get(vm);
    const expected = last === undefined ? 'stopped' : last.cmd === 'stop' ? 'stopped' : 'running';
    assert.equal(status.state, expected, `${vm}: last reply ${JSON.stringify(last)}`);
    if (expected === 'running') {
      assert.deepEqual(bhyves.get(vm), [status.pid], `${vm} runs exactly its one bhyve`);
    } else {
      assert.equal(bhyves.get(vm), undefined, `${vm} has no bhyve left`);
      assert.equal(records.includes(vm), false, `${vm} has no vmm instance left`);
    }
  }
});
