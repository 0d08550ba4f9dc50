/**
 * The console end to end (issue 11): the real daemon, workers and simulated bhyve, whose com1 is
 * the simulator's nmdm emulation and whose guest prints a login prompt and echoes; vmstatedctl
 * under a pty (script(1), util-linux, in Debian's essential bsdutils).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { LineReader, encodeLine } from '../../src/protocol/framing.js';
import { simBhyvectlPath } from '../../src/bhyvesim/paths.js';
import { VMSTATEDCTL_BIN } from '../helpers/paths.js';
import { underPty } from '../helpers/pty.js';
import { reachableCopy } from '../helpers/reachable.js';
import { createVmstatedEnv, killAndWait, waitFor, type VmstatedEnv } from '../helpers/vmstated-env.js';

/** The man page's recipe: the bhyve command line with `-l com1,stdio`, dumped with config.dump. */
const MAN_PAGE_RECIPE = [
  'acpi_tables=false', 'cpus=2', 'memory.size=4G', 'x86.strictmsr=false', 'x86.vmexit_on_hlt=true',
  'pci.0.0.0.device=hostbridge', 'pci.0.4.0.device=ahci', 'pci.0.4.0.port.0.type=hd', 'pci.0.4.0.port.0.path=disk.img',
  'pci.0.5.0.device=virtio-net', 'pci.0.5.0.backend=tap0', 'pci.0.31.0.device=lpc', 'lpc.com1.path=stdio',
];

/** A viewer speaking the protocol itself (vmstated(8), CONTROL PROTOCOL, console). */
async function protocolViewer(env: VmstatedEnv, vm: string, args: Record<string, unknown> = {}) {
  const socket = net.connect(env.sockpath);
  const reader = new LineReader();
  const messages: Array<Record<string, unknown>> = [];
  let output = '';
  socket.on('data', (chunk: Buffer) => {
    for (const line of reader.push(chunk)) {
      if (typeof line !== 'string') continue;
      const message = JSON.parse(line) as Record<string, unknown> & { data?: { out?: string } };
      messages.push(message);
      if (message.data?.out !== undefined) output += Buffer.from(message.data.out, 'base64').toString('latin1');
    }
  });
  socket.write(encodeLine({ v: 1, id: 'c', cmd: 'console', args: { vm, ...args } }));
  await waitFor(`the answer to ${vm}'s console request`, () => (messages.some((m) => m.id === 'c' && m.ok !== undefined) ? true : undefined));
  let keys = 0;
  return {
    messages,
    get output() {
      return output;
    },
    type: (text: string) => socket.write(encodeLine({ v: 1, id: `k${keys++}`, cmd: 'console-input', args: { console: 'c', data: Buffer.from(text).toString('base64') } })),
    close: () => socket.destroy(),
  };
}

/** `vmstatedctl console` under a pseudo-terminal; afterwards the shell prints its exit status and the terminal's modes. */
function consoleUnderPty(env: VmstatedEnv, vm: string) {
  const command = `node ${VMSTATEDCTL_BIN} -s ${env.sockpath} console ${vm}; echo "exit=$?"; stty -a`;
  return underPty(command);
}

/** Runs vmstatedctl as another user (uid, gid and supplementary groups as given), with setpriv. */
function ctlAs(env: VmstatedEnv, uid: number, args: string[]): ChildProcess {
  return spawn('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', process.execPath, reachableCopy().vmstatedctl, '-s', env.sockpath, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: '/', // the user may not reach the checkout
    env: { PATH: process.env.PATH, HOME: '/nonexistent' },
  });
}

function collect(child: ChildProcess): { text(): string; exit: Promise<number | null> } {
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  return { text: () => text, exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

async function startVm(env: VmstatedEnv, vm: string, wait = true): Promise<void> {
  const client = await env.client();
  try {
    await client.request('start', { vm, wait });
  } finally {
    client.close();
  }
}

test("the man page's recipe boots; vmstatedctl console shows the prompt printed before, takes keystrokes beside another viewer, detaches with ~. and restores the terminal", { timeout: 60_000 }, async (t) => {
  const env = createVmstatedEnv('vmstated-console-');
  t.after(() => env.destroy());
  env.writeVm('web', {}, { bhyveLines: MAN_PAGE_RECIPE });
  await env.startDaemon();
  await startVm(env, 'web');

  // Nobody watches the boot; a first viewer sees the prompt from the recent output, and stays.
  const watcher = await protocolViewer(env, 'web');
  await waitFor('the login prompt', () => (watcher.output.endsWith('web login: ') ? true : undefined));
  assert.match(watcher.output, /^Booting web \(simulated guest: 2 vCPUs, 4096 MiB, boot 1\)\r\n/);

  const cli = consoleUnderPty(env, 'web');
  t.after(() => cli.child.kill('SIGKILL'));
  await waitFor("the prompt the guest printed before the CLI attached", () => (/web login: $/.test(cli.output) ? true : undefined));
  assert.match(cli.output, /\[vmstatedctl: attached to web's console; ~\. or Ctrl-\] detaches\][^]*Booting web/);
  cli.type('root\r');
  await waitFor('the echo on the CLI', () => (cli.output.includes('you typed: root') ? true : undefined));
  await waitFor('the echo on the other viewer', () => (watcher.output.includes('root\r\nyou typed: root\r\nweb login: ') ? true : undefined));

  cli.type('~.');
  await waitFor('the CLI to detach and the shell to go on', () => (/exit=\d+[^]*\bspeed\b/.test(cli.output) ? true : undefined));
  assert.match(cli.output, /\[vmstatedctl: detached from web's console\][^]*exit=0/);
  assert.match(cli.output, /(^|[\s;])icanon\b/m, 'canonical mode is back');
  assert.match(cli.output, /(^|[\s;])echo\b/m, 'echo is back');
  assert.doesNotMatch(cli.output, /-icanon|(^|[\s;])-echo\b/m);

  assert.equal((await env.status('web')).state, 'running', 'detaching leaves the VM alone');
  const log = env.vmLog('web');
  assert.match(log, /Z console: Booting web/);
  // The prompt is logged on its own once the guest was quiet for a second, the typed rest continues it.
  assert.match(log, /Z console: web login: (root\n|\n.*Z console \(continued\): root\n).*Z console: you typed: root\n/);
});

test('a viewer stopped with SIGSTOP holds up neither the guest nor the other viewer: its output is dropped and it is told', { timeout: 60_000 }, async (t) => {
  const lines = 30_000;
  const env = createVmstatedEnv('vmstated-console-');
  t.after(() => env.destroy());
  // The flood waits until the stopped viewer is attached: start_storage runs before the launch.
  env.writeVm('flood', {}, { bhyveLines: [`sim.flood=${lines}`], hooks: { start_storage: 'while [ ! -e go ]; do sleep 0.05; done' } });
  await env.startDaemon();
  await startVm(env, 'flood', false);
  await env.waitForStatus('flood', (status) => status.state === 'start_storage');

  const stopped = spawn(process.execPath, [VMSTATEDCTL_BIN, '-s', env.sockpath, 'console', 'flood'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => stopped.kill('SIGKILL'));
  const stoppedOutput = collect(stopped);
  await waitFor('the viewer to attach', () => (env.daemonLog().includes('console attached') ? true : undefined));
  process.kill(stopped.pid!, 'SIGSTOP');
  const watcher = await protocolViewer(env, 'flood');

  fs.writeFileSync(path.join(env.configdir, 'flood', 'go'), '');
  const last = `flood: console flood line ${lines} of ${lines}`;
  await waitFor('the whole flood on the other viewer', () => (watcher.output.includes(last) ? true : undefined), 30_000);
  // The VM log takes a burst, then a steady rate: every line is logged or counted in a summary.
  const logged = (): { lines: number; dropped: number } => {
    const log = env.vmLog('flood');
    const dropped = [...log.matchAll(/vmstated: (\d+) lines \(\d+ bytes\) of console dropped: output flood$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
    return { lines: log.match(/Z console: flood: console flood line \d+ of/g)?.length ?? 0, dropped };
  };
  const inLog = await waitFor('every flood line in the VM log or counted', () => {
    const counts = logged();
    return counts.lines + counts.dropped >= lines ? counts : undefined;
  }, 30_000);
  // Summaries count any console line dropped, the boot's and the prompt's too: a few beyond the flood.
  assert.ok(inLog.lines >= 900 && inLog.dropped > 0 && inLog.lines + inLog.dropped <= lines + 10, `the burst is logged, the rest counted: logged ${inLog.lines} + dropped ${inLog.dropped}`);

  process.kill(stopped.pid!, 'SIGCONT');
  await waitFor('the stopped viewer to hear of the drop', () => (/\d+ bytes of console output were dropped/.test(stoppedOutput.text()) ? true : undefined));
  const ping = spawnSync(simBhyvectlPath(), ['--vm=flood', '--sim-console=still there'], { env: env.env, encoding: 'utf8' });
  assert.equal(ping.status, 0, ping.stderr);
  await waitFor('the viewer, still attached, to get new output', () => (stoppedOutput.text().includes('still there') ? true : undefined));
  assert.equal((await env.status('flood')).state, 'running');
  for (const pid of [env.daemonPid(), (await env.status('flood')).workerPid]) {
    const rss = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    t.diagnostic(`pid ${pid} RSS after the flood: ${rss} kB`);
  }
});

test('the owner attaches without root, a stranger is told the VM does not exist; after its worker is SIGKILLed and replaced the console works again', { timeout: 60_000 }, async (t) => {
  assert.equal(process.getuid?.(), 0, 'this test switches uids with setpriv and must run as root (CI does)');
  const env = createVmstatedEnv('vmstated-console-');
  t.after(() => env.destroy());
  fs.chmodSync(env.dir, 0o755); // the socket lives in the (0700) temp dir
  env.writeVm('web', { owner: 'nobody' });
  await env.startDaemon();
  await startVm(env, 'web');
  const probe = await protocolViewer(env, 'web');
  await waitFor('the login prompt', () => (probe.output.endsWith('web login: ') ? true : undefined));
  probe.close();

  const owner = ctlAs(env, 65534, ['console', '-n', '1', 'web']);
  t.after(() => owner.kill('SIGKILL'));
  const ownerOutput = collect(owner);
  await waitFor("the prompt on the owner's console", () => (ownerOutput.text().includes('web login: ') ? true : undefined));
  owner.kill('SIGTERM');
  assert.equal(await ownerOutput.exit, 0, ownerOutput.text());
  assert.doesNotMatch(ownerOutput.text(), /Booting/, '-n 1 replays the last line only');

  const stranger = collect(ctlAs(env, 1, ['console', 'web'])); // daemon(1): a user that is not web's owner
  assert.equal(await stranger.exit, 1);
  assert.match(stranger.text(), /no VM named "web"/, 'refused exactly as for a VM that does not exist');

  const before = await env.status('web');
  await killAndWait(before.workerPid!);
  const after = await env.waitForStatus('web', (status) => status.workerPid !== null && status.workerPid !== before.workerPid);
  assert.equal(after.pid, before.pid, 'the same bhyve, adopted');
  const viewer = await protocolViewer(env, 'web', { history: 0 });
  t.after(() => viewer.close());
  viewer.type('again\r');
  await waitFor('the echo through the new worker', () => (viewer.output.includes('you typed: again') ? true : undefined));
});
