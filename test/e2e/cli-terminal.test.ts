/**
 * What vmstatedctl does only on a terminal, under a pseudo-terminal (test/helpers/pty.ts) against
 * the real daemon and the bhyve simulator: coloured states (NO_COLOR, FORCE_COLOR, never in JSON or
 * pipes), top on the alternate screen with every VM and its sort keys, and the line events prints
 * while it waits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { VMSTATEDCTL_BIN } from '../helpers/paths.js';
import { shellCommand, underPty, type PtyRun } from '../helpers/pty.js';
import { createVmstatedEnv, waitFor, type VmstatedEnv } from '../helpers/vmstated-env.js';
import { ctl } from './ctl.js';

type TestContext = { after(fn: () => void | Promise<void>): void };

const GREEN = '\x1b[32m';
const RED = '\x1b[31m';
const YELLOW = '\x1b[33m';
const ESCAPE = /\x1b\[/;
const ENTER_ALTERNATE_SCREEN = '\x1b[?1049h';
const LEAVE_ALTERNATE_SCREEN = '\x1b[?1049l';

/** The environment vmstatedctl runs in, without the caller's colour wishes unless given. */
function colourEnv(env: VmstatedEnv, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean = { ...env.env, ...extra };
  for (const name of ['NO_COLOR', 'FORCE_COLOR'] as const) if (!(name in extra)) delete clean[name];
  return clean;
}

/** `vmstatedctl -s <sock> args...` on a pseudo-terminal. */
function ctlUnderPty(t: TestContext, env: VmstatedEnv, args: string[], extraEnv: Record<string, string> = {}): PtyRun {
  const run = underPty(shellCommand([process.execPath, VMSTATEDCTL_BIN, '-s', env.sockpath, ...args]), { env: colourEnv(env, extraEnv) });
  t.after(() => void run.child.kill('SIGKILL'));
  return run;
}

async function finished(run: PtyRun): Promise<{ code: number | null; output: string }> {
  const code = await run.exited;
  return { code, output: run.output };
}

async function daemon(t: TestContext): Promise<VmstatedEnv> {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('web');
  env.writeVm('db');
  env.writeVm('broken', {}, { hooks: { start_network: 'exit 1' } });
  await env.startDaemon();
  return env;
}

test('states are coloured on a terminal only: running green, failed red, the ones between yellow; NO_COLOR and FORCE_COLOR', async (t) => {
  const env = await daemon(t);
  const start = await finished(ctlUnderPty(t, env, ['start', 'web']));
  assert.equal(start.code, 0, start.output);
  assert.ok(start.output.includes(`-> ${YELLOW}start_network\x1b[39m`), `a transitional state in yellow: ${JSON.stringify(start.output)}`);
  assert.ok(start.output.includes(`web: ${GREEN}running\x1b[39m`), start.output);
  const broken = await finished(ctlUnderPty(t, env, ['start', 'broken']));
  assert.equal(broken.code, 1, broken.output);

  const status = await finished(ctlUnderPty(t, env, ['status']));
  assert.equal(status.code, 0, status.output);
  assert.match(status.output, /^web\s+\x1b\[32mrunning\x1b\[39m\s+\d+/m, 'coloured, and the columns still line up');
  assert.match(status.output, /^broken\s+\x1b\[31mfailed\x1b\[39m\s+-/m);
  assert.match(status.output, /^db\s+stopped\s+-/m, 'stopped is not coloured');
  const header = status.output.split(/\r?\n/).find((line) => line.startsWith('NAME'))!;
  const webLine = status.output.split(/\r?\n/).find((line) => line.startsWith('web'))!.replaceAll(/\x1b\[\d+m/g, '');
  assert.equal(webLine.indexOf(webLine.split(/\s+/)[2]!), header.indexOf('PID'), 'the PID column starts under its header');

  for (const [what, run] of [
    ['NO_COLOR', ctlUnderPty(t, env, ['status'], { NO_COLOR: '1' })],
    ['FORCE_COLOR=0', ctlUnderPty(t, env, ['status'], { FORCE_COLOR: '0' })],
    ['--json', ctlUnderPty(t, env, ['--json', 'status'])],
  ] as const) {
    const result = await finished(run);
    assert.equal(result.code, 0, result.output);
    assert.doesNotMatch(result.output, ESCAPE, what);
  }
  const piped = await ctl(env, 'status');
  assert.doesNotMatch(piped.stdout, ESCAPE, 'no colour in a pipe');
  const forced = await runCtlWith(env, ['status'], { FORCE_COLOR: '1' });
  assert.ok(forced.includes(`${GREEN}running`), 'FORCE_COLOR colours a pipe');
  assert.ok(forced.includes(`${RED}failed`));
  const both = await runCtlWith(env, ['status'], { FORCE_COLOR: '1', NO_COLOR: '1' });
  assert.ok(both.includes(`${GREEN}running`), 'FORCE_COLOR wins over NO_COLOR');
});

async function runCtlWith(env: VmstatedEnv, args: string[], extraEnv: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, [VMSTATEDCTL_BIN, '-s', env.sockpath, ...args], { env: colourEnv(env, extraEnv), stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, stdout);
  return stdout;
}

test('top uses the alternate screen, shows stopped VMs with dashes, sorts by --sort and by the keys c, m, n', async (t) => {
  const env = await daemon(t);
  assert.equal((await ctl(env, 'start', 'web')).status, 0);

  const top = ctlUnderPty(t, env, ['top', '-d', '0.2', '--sort', 'name']);
  await top.waitForOutput(/sorted by name[^]*NAME/, 'the first frame');
  assert.ok(top.output.startsWith(ENTER_ALTERNATE_SCREEN), JSON.stringify(top.output.slice(0, 40)));
  const frame = top.output.slice(top.output.lastIndexOf('sorted by name'));
  assert.match(frame, /^broken\s+stopped\s+-\s+-\s+-\s+-\s+-\s+-/m, 'a VM without processes, with dashes');
  assert.match(frame, /^db\s+stopped\s+-/m);
  assert.match(frame, /^web\s+\x1b\[32mrunning\x1b\[39m\s+\d+\s+\d+\.\d%\s+\S+\s+\d+/m);
  const order = [...frame.matchAll(/^(broken|db|web)\s/gm)].map((match) => match[1]);
  assert.deepEqual(order, ['broken', 'db', 'web']);

  top.type('c');
  await top.waitForOutput(/sorted by cpu[^]*NAME[^]*\n/, 'the frame sorted by cpu');
  top.type('m');
  await top.waitForOutput(/sorted by mem[^]*NAME[^]*web[^]*broken/, 'the frame sorted by mem: web, the one with processes, first');
  top.type('q');
  const quit = await finished(top);
  assert.equal(quit.code, 0, quit.output);
  assert.ok(quit.output.trimEnd().endsWith(LEAVE_ALTERNATE_SCREEN), `the screen is given back: ${JSON.stringify(quit.output.slice(-60))}`);

  const interrupted = ctlUnderPty(t, env, ['top', '-d', '0.2']);
  await interrupted.waitForOutput(/sorted by cpu[^]*NAME/, 'the first frame');
  interrupted.type('\x03');
  const byCtrlC = await finished(interrupted);
  assert.equal(byCtrlC.code, 0, byCtrlC.output);
  assert.ok(byCtrlC.output.trimEnd().endsWith(LEAVE_ALTERNATE_SCREEN), 'Ctrl-C gives the screen back too');

  // --once, and a pipe: no alternate screen, the order of --sort.
  const once = await ctl(env, 'top', '--once', '--sort', 'name');
  assert.equal(once.status, 0, once.stderr);
  assert.doesNotMatch(once.stdout, ESCAPE);
  assert.deepEqual(once.stdout.trim().split('\n').slice(1).map((line) => line.split(/\s+/)[0]), ['broken', 'db', 'web']);
  const json = await ctl(env, '--json', 'top', '--once', '--sort', 'cpu');
  const rows = JSON.parse(json.stdout) as Array<{ name: string; bhyve: unknown }>;
  assert.equal(rows[0]!.name, 'web', 'the measured VM first');
  assert.deepEqual(rows.slice(1).map((row) => row.bhyve), [null, null]);

  // A daemon that goes away ends top with exit 3, on the normal screen again.
  const lost = ctlUnderPty(t, env, ['top', '-d', '0.2']);
  await lost.waitForOutput(/sorted by cpu[^]*NAME/, 'the first frame');
  assert.equal((await ctl(env, 'shutdown')).status, 0);
  const ended = await finished(lost);
  assert.equal(ended.code, 3, ended.output);
  const left = ended.output.lastIndexOf(LEAVE_ALTERNATE_SCREEN);
  assert.ok(left > 0 && /vmstatedctl: /.test(ended.output.slice(left)), `the error follows the return to the normal screen: ${JSON.stringify(ended.output.slice(-200))}`);
});

test('events says on a terminal that it waits, before the first event; not in a pipe', async (t) => {
  const env = await daemon(t);
  const events = ctlUnderPty(t, env, ['events']);
  await events.waitForOutput(/waiting for events; Ctrl-C ends\r?\n/, 'the waiting line');
  assert.equal(events.output.replace(/\r/g, ''), 'waiting for events; Ctrl-C ends\n', 'nothing before it');
  await waitFor('an event after a reload', async () => {
    await ctl(env, 'reload');
    return events.output.includes('"type":"config"') ? true : undefined;
  });
  events.type('\x03');
  const ended = await finished(events);
  assert.equal(ended.code, 0, ended.output);
  const refused = await finished(ctlUnderPty(t, env, ['events', 'nosuchvm']));
  assert.equal(refused.code, 1);
  assert.equal(refused.output.replace(/\r/g, ''), 'vmstatedctl: no VM named "nosuchvm"\n', 'a refused stream never said it waits');

  const piped = spawn(process.execPath, [VMSTATEDCTL_BIN, '-s', env.sockpath, 'events'], { env: env.env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => void piped.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  piped.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  piped.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await waitFor('an event in the pipe', async () => {
    await ctl(env, 'reload');
    return stdout.includes('"type":"config"') ? true : undefined;
  });
  piped.kill('SIGINT');
  const [code] = await once(piped, 'exit');
  assert.equal(code, 0);
  assert.equal(stderr, '', 'no waiting line when stderr is not a terminal');
});
