/**
 * Streams outlive the check made when they opened (vmstated(8), Authorization): a user whose
 * access to a VM a reload withdraws loses its console and its followed log at once, is told why,
 * and can type nothing more into the guest; a user whose access is unchanged keeps both. A real
 * root daemon with the simulated bhyve (whose guest echoes what it reads: `you typed: ...`), and
 * clients run as other uids with setpriv: the raw protocol (stream-client.ts) and vmstatedctl.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { shellCommand, underPty } from '../helpers/pty.js';
import { reachableCopy } from '../helpers/reachable.js';
import { waitFor, type VmstatedEnv } from '../helpers/vmstated-env.js';
import { NOBODY, envOpenToNobody } from './hostile.js';

// Users vmstatedctl runs as must exist in the passwd database (oclif looks the user up at start).
/** The probe's user (nobody): owns the VM until the reload. */
const HXA = NOBODY;
/** A member of the VM's group (daemon), before and after the reload. */
const MEMBER = 1;
/** The VM's owner after the reload: a uid that never connects. */
const NEW_OWNER = 4203;
const TEAM_GID = 4300;

const WITHDRAWN = 'VM "web": access withdrawn by a config reload';

interface Message {
  id?: string | number | null;
  ok?: boolean;
  error?: { code: string; message: string };
  data?: { out?: string; lines?: string[]; end?: string };
  closed?: boolean;
}

/** setpriv's arguments to run `command` as uid (gid the same) with exactly `groups` besides. */
function asUser(uid: number, groups: readonly number[], command: readonly string[]): string[] {
  const groupArgs = groups.length > 0 ? [`--groups=${groups.join(',')}`] : ['--clear-groups'];
  return [`--reuid=${uid}`, `--regid=${uid}`, ...groupArgs, '--', ...command];
}

function spawnAs(uid: number, groups: readonly number[], command: readonly string[]): ChildProcess {
  const options = { stdio: 'pipe' as const, cwd: '/', env: { PATH: process.env.PATH, HOME: '/nonexistent' } };
  return uid === 0 ? spawn(command[0], command.slice(1), options) : spawn('setpriv', asUser(uid, groups, command), options);
}

/** One user's console ("c") and followed log ("l") of `vm` on one connection (stream-client.ts). */
class Streams {
  readonly messages: Message[] = [];
  private constructor(
    private readonly child: ChildProcess,
    private readonly uid: number,
  ) {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => this.messages.push(JSON.parse(line) as Message));
  }

  static async open(env: VmstatedEnv, uid: number, groups: readonly number[], vm: string): Promise<Streams> {
    const streams = new Streams(spawnAs(uid, groups, [process.execPath, reachableCopy().streamClient, env.sockpath, vm]), uid);
    await streams.waitFor('the console attached', (m) => m.id === 'c' && m.ok === true);
    await streams.waitFor('the first lines of the log', (m) => m.id === 'l' && m.data?.lines !== undefined);
    return streams;
  }

  type(text: string): void {
    this.child.stdin!.write(`${text}\n`);
  }

  /** What the guest printed on this user's console. */
  consoleOutput(messages = this.messages): string {
    return messages
      .filter((m) => m.id === 'c' && m.data?.out !== undefined)
      .map((m) => Buffer.from(m.data!.out!, 'base64').toString('latin1'))
      .join('');
  }

  logLines(messages = this.messages): string[] {
    return messages.filter((m) => m.id === 'l').flatMap((m) => m.data?.lines ?? []);
  }

  waitFor(what: string, match: (message: Message) => boolean): Promise<Message> {
    return waitFor(`${what} (uid ${this.uid})`, () => this.messages.find(match));
  }

  waitForOutput(what: string, text: string): Promise<true> {
    return waitFor(what, () => (this.consoleOutput().includes(text) ? true : undefined));
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

/** `vmstatedctl args...` as uid, left running; its exit status and output once it ends. */
function ctlAs(env: VmstatedEnv, uid: number, args: readonly string[]) {
  const child = spawnAs(uid, [], [process.execPath, reachableCopy().vmstatedctl, '-s', env.sockpath, ...args]);
  child.stdin!.end(); // not a terminal: `console` watches read-only
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('latin1')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('latin1')));
  let status: { code: number | null } | undefined;
  child.once('exit', (code) => (status = { code }));
  return {
    kill: () => child.kill('SIGKILL'),
    get stdout() {
      return stdout;
    },
    /** Waits until stdout has `text`; a failure shows what it printed. */
    waitForStdout: (what: string, text: string) =>
      waitFor(what, () => (stdout.includes(text) ? true : undefined)).catch((error: Error) => {
        throw new Error(`${error.message}; stdout: ${JSON.stringify(stdout)}, stderr: ${JSON.stringify(stderr)}, exit: ${JSON.stringify(status)}`);
      }),
    /** The exit status and stderr, within 15 s. */
    ended: async (what: string) => ({ code: (await waitFor(what, () => status)).code, stderr }),
  };
}

async function asRoot<T>(env: VmstatedEnv, send: (client: Awaited<ReturnType<VmstatedEnv['client']>>) => Promise<T>): Promise<T> {
  const client = await env.client();
  try {
    return await send(client);
  } finally {
    client.close();
  }
}

function withdrawalLines(env: VmstatedEnv): string[] {
  return env.daemonLog().split('\n').filter((line) => line.includes('ended: access withdrawn'));
}

test('a reload that gives web to another owner ends the old owner\'s console and log stream at once; what it types no longer reaches the guest; a group member keeps both', { timeout: 90_000 }, async (t) => {
  const env = envOpenToNobody(t, 'vmstated-revoke-');
  env.writeVm('web', { owner: String(HXA), group: String(TEAM_GID) });
  await env.startDaemon();
  await asRoot(env, (client) => client.request('start', { vm: 'web' }));

  const hxa = await Streams.open(env, HXA, [], 'web');
  t.after(() => hxa.stop());
  const member = await Streams.open(env, MEMBER, [TEAM_GID], 'web');
  t.after(() => member.stop());
  hxa.type('before');
  await hxa.waitForOutput("the guest's echo of what hxa typed", 'you typed: before');
  await waitFor("the echo in hxa's followed log", () => (hxa.logLines().some((line) => line.endsWith('console: you typed: before')) ? true : undefined));
  // Started now, they show the echo once attached: from the console's recent output and the log's last lines.
  const hxaLogs = ctlAs(env, HXA, ['logs', '-f', 'web']);
  t.after(() => hxaLogs.kill());
  const hxaConsole = ctlAs(env, HXA, ['console', 'web']);
  t.after(() => hxaConsole.kill());
  await hxaLogs.waitForStdout("the echo in hxa's vmstatedctl logs -f", 'console: you typed: before');
  await hxaConsole.waitForStdout("the echo on hxa's vmstatedctl console", 'you typed: before');
  // On a terminal, as hxa would sit at it; afterwards the shell prints the exit status and the terminal's modes.
  const hxaTerminal = underPty(`${shellCommand(['setpriv', ...asUser(HXA, [], [process.execPath, reachableCopy().vmstatedctl, '-s', env.sockpath, 'console', 'web'])])}; echo "exit=$?"; stty -a`);
  t.after(() => hxaTerminal.child.kill('SIGKILL'));
  await hxaTerminal.waitForOutput(/you typed: before/, "the echo on hxa's terminal");

  env.writeVm('web', { owner: String(NEW_OWNER), group: String(TEAM_GID) });
  const summary = await asRoot(env, (client) => client.request<{ changed: string[] }>('reload'));
  assert.deepEqual(summary.changed, ['web']);

  const consoleEnd = await hxa.waitFor("the end of hxa's console", (m) => m.id === 'c' && m.ok === false);
  assert.equal(consoleEnd.error?.code, 'FORBIDDEN');
  assert.match(consoleEnd.error!.message, new RegExp(`^request "c" \\(console\\): ${WITHDRAWN}$`));
  const logsEnd = await hxa.waitFor("the end of hxa's log stream", (m) => m.id === 'l' && m.ok === false);
  assert.equal(logsEnd.error?.code, 'FORBIDDEN');
  assert.match(logsEnd.error!.message, new RegExp(`^request "l" \\(logs\\): ${WITHDRAWN}$`));

  hxa.type('after-the-reload');
  const refused = await hxa.waitFor('the answer to the keystrokes typed after the reload', (m) => m.id === 'k1');
  assert.equal(refused.error?.code, 'FORBIDDEN', JSON.stringify(refused));
  assert.match(refused.error!.message, new RegExp(WITHDRAWN));

  for (const [what, ctl] of [['logs -f', hxaLogs], ['console', hxaConsole]] as const) {
    const { code, stderr } = await ctl.ended(`vmstatedctl ${what} of hxa to end`);
    assert.equal(code, 1, `vmstatedctl ${what}: a refusal (exit 1), not a lost connection (3): ${stderr}`);
    assert.equal(stderr, 'vmstatedctl: web: access withdrawn by a config reload\n', `vmstatedctl ${what}`);
  }

  await hxaTerminal.waitForOutput(/exit=\d+[^]*\bspeed\b/, "hxa's terminal console to end and the shell to go on");
  assert.match(hxaTerminal.output, /\[vmstatedctl: web: access withdrawn by a config reload\]\s*exit=1\r?\n/);
  assert.match(hxaTerminal.output, /(^|[\s;])icanon\b/m, 'canonical mode is back');
  assert.doesNotMatch(hxaTerminal.output, /-icanon|(^|[\s;])-echo\b/m);

  // The member's streams go on: what it types reaches the guest, and the echo comes on its console and in its log.
  const seenByHxa = hxa.messages.length;
  member.type('member-after');
  await member.waitForOutput("the guest's echo of what the member typed after the reload", 'you typed: member-after');
  await waitFor("the echo in the member's followed log", () => (member.logLines().some((line) => line.endsWith('console: you typed: member-after')) ? true : undefined));
  assert.ok(!member.messages.some((m) => m.ok === false), `the member was refused nothing: ${JSON.stringify(member.messages.filter((m) => m.ok === false))}`);

  const log = env.vmLog('web');
  assert.match(log, /console: you typed: member-after/);
  assert.doesNotMatch(log, /after-the-reload/, 'the guest never read what hxa typed after the reload');
  assert.equal(hxa.consoleOutput(hxa.messages.slice(seenByHxa)), '', 'hxa sees no console output after the reload');
  assert.deepEqual(hxa.logLines(hxa.messages.slice(seenByHxa)), [], 'and no log line');
  assert.doesNotMatch(hxa.consoleOutput(), /member-after/);

  const withdrawn = withdrawalLines(env);
  assert.equal(withdrawn.length, 5, `one daemon log line per ended stream (hxa's console and log, twice, and its terminal's console): ${withdrawn.join('\n')}`);
  for (const line of withdrawn) {
    const record = JSON.parse(line) as { vm: string; uid: number; msg: string };
    assert.equal(record.vm, 'web');
    assert.equal(record.uid, HXA, 'only hxa lost a stream');
    assert.match(record.msg, /^web: (console|logs) of uid 65534 ended: access withdrawn by a config reload$/);
  }
});

test('a reload that removes a VM ends its owner\'s console and log stream at once; root\'s stream watches it stop', { timeout: 90_000 }, async (t) => {
  const env = envOpenToNobody(t, 'vmstated-revoke-');
  const vmdir = env.writeVm('web', { owner: String(HXA) });
  await env.startDaemon();
  await asRoot(env, (client) => client.request('start', { vm: 'web' }));

  const hxa = await Streams.open(env, HXA, [], 'web');
  t.after(() => hxa.stop());
  const root = await Streams.open(env, 0, [], 'web');
  t.after(() => root.stop());
  hxa.type('before');
  await hxa.waitForOutput("the guest's echo of what hxa typed", 'you typed: before');
  const hxaLogs = ctlAs(env, HXA, ['logs', '-f', 'web']);
  t.after(() => hxaLogs.kill());
  await hxaLogs.waitForStdout("the echo in hxa's vmstatedctl logs -f", 'console: you typed: before');

  fs.rmSync(vmdir, { recursive: true });
  assert.ok(!fs.existsSync(path.join(env.configdir, 'web')));
  const summary = await asRoot(env, (client) => client.request<{ removed: string[] }>('reload'));
  assert.deepEqual(summary.removed, ['web']);

  const removed = 'VM "web": access withdrawn by a config reload: the VM was removed from the configs';
  for (const id of ['c', 'l']) {
    const end = await hxa.waitFor(`the end of hxa's stream ${id}`, (m) => m.id === id && m.ok === false);
    assert.equal(end.error?.code, 'FORBIDDEN');
    assert.ok(end.error!.message.endsWith(removed), end.error!.message);
  }
  hxa.type('after-the-reload');
  const refused = await hxa.waitFor('the answer to the keystrokes typed after the reload', (m) => m.id === 'k1');
  assert.equal(refused.error?.code, 'FORBIDDEN');
  const { code, stderr } = await hxaLogs.ended('vmstatedctl logs -f of hxa to end');
  assert.equal(code, 1, stderr);
  assert.equal(stderr, 'vmstatedctl: web: access withdrawn by a config reload: the VM was removed from the configs\n');

  // Root's log stream stays, and shows the removed VM being stopped; its console ends as the VM stops.
  await waitFor("the stop in root's followed log", () => (root.logLines().some((line) => /state \S+ -> stopped/.test(line)) ? true : undefined), 30_000);
  assert.ok(!root.messages.some((m) => m.ok === false), `root was refused nothing: ${JSON.stringify(root.messages.filter((m) => m.ok === false))}`);
  assert.doesNotMatch(env.vmLog('web'), /after-the-reload/, 'the guest never read what hxa typed after the reload');
  assert.deepEqual(withdrawalLines(env).map((line) => (JSON.parse(line) as { uid: number }).uid), [HXA, HXA, HXA], 'hxa lost its two streams and its vmstatedctl logs -f; root none');
});
