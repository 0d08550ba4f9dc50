/**
 * Peer credentials and authorization with REAL, different uids and gids:
 * test users and groups are created, and clients run under setpriv(1) with
 * chosen uid, gid and supplementary groups. Needs root (CI runs as root);
 * without it every test here fails with a message saying so.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { authorize, canSee, clearIdentityCache, resolveGroup, resolveUser } from '../../src/auth/authorize.js';
import type { VmAccess } from '../../src/auth/authorize.js';
import { getPeerCredentials } from '../../src/auth/peercred.js';
import type { PeerCredentials } from '../../src/auth/peercred.js';
import { VM_COMMANDS } from '../../src/protocol/request.js';
import { reachableCopy } from '../helpers/reachable.js';

const NOT_ROOT =
  'these tests need root: they create users and groups and switch uid/gid with setpriv (CI runs as root); run them as root';

const suffix = randomBytes(3).toString('hex');
const name = (role: string): string => `vmst_${suffix}_${role}`;
const GROUPS = { owner: name('gown'), member: name('gmem'), stranger: name('gstr'), vm: name('gvm'), extra: name('gext') };
const USERS = { owner: name('own'), member: name('mem'), stranger: name('str') };
const LATE_USER = name('late');

const created = { users: [] as string[], groups: [] as string[] };
let dir = '';
let socketPath = '';
let server: net.Server | null = null;
/** Credentials the server read from the kernel, by the label each client sent. */
const peers = new Map<string, PeerCredentials>();
const ids = { uid: {} as Record<string, number>, gid: {} as Record<string, number> };

/** useradd and friends lock /etc/passwd; another test may hold the lock for a moment. */
function admin(command: string, args: string[]): void {
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      return;
    } catch (error) {
      const status = (error as { status?: number }).status;
      const locked = status === 10 || /lock/i.test(String((error as { stderr?: Buffer }).stderr ?? ''));
      if (!locked || attempt >= 20) throw error;
      execFileSync('sleep', ['0.1']);
    }
  }
}

function addGroup(group: string): void {
  admin('groupadd', [group]);
  created.groups.push(group);
}

function addUser(user: string, primary: string, supplementary: string[] = []): void {
  const extra = supplementary.length > 0 ? ['-G', supplementary.join(',')] : [];
  admin('useradd', ['-M', '-N', '-s', '/usr/sbin/nologin', '-g', primary, ...extra, user]);
  created.users.push(user);
}

function idOf(kind: 'u' | 'g', nameOrGroup: string): number {
  return Number(execFileSync('getent', [kind === 'u' ? 'passwd' : 'group', nameOrGroup], { encoding: 'utf8' }).split(':')[2]);
}

before(async () => {
  if (process.getuid?.() !== 0) return; // each test reports NOT_ROOT
  for (const group of Object.values(GROUPS)) addGroup(group);
  addUser(USERS.owner, GROUPS.owner);
  addUser(USERS.member, GROUPS.member, [GROUPS.vm]); // in /etc/group as a member of the VM's group
  addUser(USERS.stranger, GROUPS.stranger);
  for (const [role, user] of Object.entries(USERS)) ids.uid[role] = idOf('u', user);
  for (const [role, group] of Object.entries(GROUPS)) ids.gid[role] = idOf('g', group);

  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmst-peercred-'));
  fs.chmodSync(dir, 0o711); // other users may reach the socket, not list the directory
  socketPath = path.join(dir, 'ctl.sock');
  server = net.createServer((socket) => {
    socket.on('error', () => {});
    const credentials = getPeerCredentials(socket); // read at once, as the daemon does
    socket.once('data', (label: Buffer) => {
      peers.set(label.toString().trim(), credentials);
      socket.end('ok\n');
    });
  });
  await new Promise<void>((resolve) => server!.listen(socketPath, resolve));
  fs.chmodSync(socketPath, 0o666);
  startClients();
});

after(async () => {
  if (server !== null) await new Promise<void>((resolve) => server!.close(() => resolve()));
  if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
  for (const user of created.users) {
    try {
      admin('userdel', [user]);
    } catch (error) {
      console.error(`could not remove test user ${user}: ${(error as Error).message}`);
    }
  }
  for (const group of created.groups) {
    try {
      admin('groupdel', [group]);
    } catch (error) {
      console.error(`could not remove test group ${group}: ${(error as Error).message}`);
    }
  }
});

function requireRoot(): void {
  assert.equal(process.getuid?.(), 0, NOT_ROOT);
}

const CLIENT = `
const net = require('node:net');
const [socketPath, label] = process.argv.slice(1);
const socket = net.connect(socketPath, () => socket.write(label + '\\n'));
socket.on('data', () => socket.end());
socket.on('error', (e) => { console.error(e.message); process.exit(2); });
`;

/** Runs the client under setpriv; resolves with its pid and the credentials the server read. */
async function connectAs(label: string, setprivArgs: string[]): Promise<{ pid: number; peer: PeerCredentials }> {
  const child = spawn('setpriv', [...setprivArgs, '--', process.execPath, '-e', CLIENT, socketPath, label], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, `client ${label} failed: ${stderr}`);
  const peer = peers.get(label);
  assert.ok(peer !== undefined, `the server saw no connection labelled ${label}`);
  return { pid: child.pid!, peer };
}

/** Every client runs at once (node start-up is the slow part); each test awaits its own. */
const clients = new Map<string, Promise<{ pid: number; peer: PeerCredentials }>>();

function startClients(): void {
  const cases: Record<string, string[]> = {
    owner: ['--reuid', USERS.owner, '--regid', GROUPS.owner, '--clear-groups'],
    'member-groups': ['--reuid', USERS.member, '--regid', GROUPS.member, '--groups', `${GROUPS.extra},${GROUPS.vm}`],
    'member-init': ['--reuid', USERS.member, '--regid', GROUPS.member, '--init-groups'],
    // /etc/group lists the member in the VM's group, but this process dropped it.
    'member-dropped': ['--reuid', USERS.member, '--regid', GROUPS.member, '--groups', GROUPS.extra],
    'member-gid': ['--reuid', USERS.stranger, '--regid', GROUPS.vm, '--clear-groups'],
    stranger: ['--reuid', USERS.stranger, '--regid', GROUPS.stranger, '--groups', GROUPS.extra],
    root: ['--reuid', '0', '--regid', '0', '--clear-groups'],
  };
  for (const [label, args] of Object.entries(cases)) {
    const outcome = connectAs(label, args);
    outcome.catch(() => {}); // reported by the test that awaits it
    clients.set(label, outcome);
  }
}

function clientAs(label: string): Promise<{ pid: number; peer: PeerCredentials }> {
  const outcome = clients.get(label);
  assert.ok(outcome !== undefined, `no client ${label} was started`);
  return outcome;
}

const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b);
const vm = (): VmAccess => ({ owner: USERS.owner, group: GROUPS.vm });

test('the owner: uid, gid and (no) groups come from the kernel; it may act on its VM, not reload', async () => {
  requireRoot();
  const { pid, peer } = await clientAs('owner');
  assert.deepEqual(peer, { uid: ids.uid.owner, gid: ids.gid.owner, groups: [], pid });
  for (const cmd of [...VM_COMMANDS, 'status', 'top'] as const) assert.equal(authorize(peer, cmd, vm()), 'allow', cmd);
  assert.equal(authorize(peer, 'reload'), 'forbidden');
  assert.equal(authorize(peer, 'shutdown'), 'forbidden');
  assert.equal(canSee(peer, { owner: String(ids.uid.owner) }), true, 'a numeric owner works too');
  assert.equal(canSee(peer, { owner: USERS.stranger, group: GROUPS.vm }), false, 'not the owner of another VM');
});

test('a member through a supplementary group (setpriv --groups) may act on the VM', async () => {
  requireRoot();
  const { peer } = await clientAs('member-groups');
  assert.equal(peer.uid, ids.uid.member);
  assert.equal(peer.gid, ids.gid.member);
  assert.deepEqual(sorted(peer.groups), sorted([ids.gid.extra, ids.gid.vm]));
  for (const cmd of VM_COMMANDS) assert.equal(authorize(peer, cmd, vm()), 'allow', cmd);
  assert.equal(authorize(peer, 'status', { group: String(ids.gid.vm) }), 'allow', 'a numeric group works too');
  assert.equal(authorize(peer, 'shutdown'), 'forbidden');
});

test('membership as a login would get it (setpriv --init-groups) counts', async () => {
  requireRoot();
  const { peer } = await clientAs('member-init');
  assert.ok(peer.groups.includes(ids.gid.vm), `groups ${peer.groups.join(',')} include the VM's group`);
  assert.equal(authorize(peer, 'start', vm()), 'allow');
});

test("the peer's real groups decide, not the user database", async () => {
  requireRoot();
  // /etc/group lists the member in the VM's group, but this process dropped it.
  const { peer } = await clientAs('member-dropped');
  assert.deepEqual(peer.groups, [ids.gid.extra]);
  assert.equal(authorize(peer, 'start', vm()), 'hidden');
});

test('the effective gid alone makes a member', async () => {
  requireRoot();
  const { peer } = await clientAs('member-gid');
  assert.equal(peer.gid, ids.gid.vm);
  assert.equal(authorize(peer, 'stop', vm()), 'allow');
});

test('a stranger does not see the VM and may not reload or shut down', async () => {
  requireRoot();
  const { peer } = await clientAs('stranger');
  assert.equal(peer.uid, ids.uid.stranger);
  for (const cmd of [...VM_COMMANDS, 'status', 'top', 'events'] as const) assert.equal(authorize(peer, cmd, vm()), 'hidden', cmd);
  assert.equal(authorize(peer, 'status'), 'allow', 'listing is allowed; the daemon filters with canSee');
  assert.equal(canSee(peer, vm()), false);
  assert.equal(canSee(peer, {}), false, 'a VM without owner or group is root-only');
  assert.equal(authorize(peer, 'reload'), 'forbidden');
  assert.equal(authorize(peer, 'shutdown'), 'forbidden');
});

test('root may do everything, including reload and shutdown', async () => {
  requireRoot();
  const { peer } = await clientAs('root');
  assert.equal(peer.uid, 0);
  assert.equal(authorize(peer, 'reload'), 'allow');
  assert.equal(authorize(peer, 'shutdown'), 'allow');
  assert.equal(authorize(peer, 'start', { owner: USERS.owner }), 'allow');
  assert.equal(canSee(peer, {}), true);
});

test('a user added later resolves at once: the cache notices /etc/passwd changed', () => {
  requireRoot();
  assert.equal(resolveUser(LATE_USER), null);
  addUser(LATE_USER, GROUPS.extra);
  assert.equal(resolveUser(LATE_USER), idOf('u', LATE_USER));
  clearIdentityCache();
  assert.equal(resolveUser(LATE_USER), idOf('u', LATE_USER));
  assert.equal(resolveGroup(GROUPS.vm), ids.gid.vm);
  assert.equal(resolveGroup(`vmst_${suffix}_none`), null);
});

test('the client names the socket and the cause when it may not connect (EACCES)', async () => {
  requireRoot();
  const privateSocket = path.join(dir, 'private.sock');
  const privateServer = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => privateServer.listen(privateSocket, resolve));
  try {
    fs.chmodSync(privateSocket, 0o600);
    const { clientModule } = reachableCopy(); // the stranger may not reach the checkout
    const script = `
      const { ControlClient } = await import(${JSON.stringify(clientModule)});
      try { await ControlClient.connect(${JSON.stringify(privateSocket)}); console.log('{"connected":true}'); }
      catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`;
    const child = spawn(
      'setpriv',
      ['--reuid', USERS.stranger, '--regid', GROUPS.stranger, '--clear-groups', '--', process.execPath, '--input-type=module', '-e', script],
      { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await new Promise((resolve) => child.once('exit', resolve));
    const outcome = JSON.parse(stdout) as { name: string; code: string; message: string };
    assert.equal(outcome.name, 'DaemonUnreachableError');
    assert.equal(outcome.code, 'EACCES');
    assert.ok(outcome.message.includes(privateSocket));
    assert.match(outcome.message, /permission denied/);
  } finally {
    await new Promise<void>((resolve) => privateServer.close(() => resolve()));
  }
});
