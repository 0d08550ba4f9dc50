/** The decisions and decoders that need no second user (see peercred.test.ts for real uids). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorize, canSee, filterVisible, lookupInColonFile, resolveGroup, resolveUser } from '../../src/auth/authorize.js';
import { PeerCredentialsError, parseProcStatusGroups, parseXucred } from '../../src/auth/peercred.js';

test('decoding a FreeBSD struct xucred: cr_groups[0] is the gid, the rest supplementary, pid last', () => {
  const xucred = Buffer.alloc(88);
  xucred.writeUInt32LE(0, 0); // cr_version
  xucred.writeUInt32LE(1001, 4); // cr_uid
  xucred.writeInt16LE(3, 8); // cr_ngroups
  [20, 0, 5].forEach((gid, i) => xucred.writeUInt32LE(gid, 12 + 4 * i));
  xucred.writeUInt32LE(999, 12 + 4 * 3); // beyond cr_ngroups: ignored
  xucred.writeInt32LE(4242, 80); // cr_pid
  assert.deepEqual(parseXucred(xucred), { uid: 1001, gid: 20, groups: [0, 5], pid: 4242 });
});

test('an xucred without a pid (older FreeBSD) and one with all 16 groups', () => {
  const xucred = Buffer.alloc(76);
  xucred.writeUInt32LE(0, 4);
  xucred.writeInt16LE(16, 8);
  for (let i = 0; i < 16; i++) xucred.writeUInt32LE(100 + i, 12 + 4 * i);
  const peer = parseXucred(xucred);
  assert.equal(peer.uid, 0);
  assert.equal(peer.gid, 100);
  assert.equal(peer.groups.length, 15);
  assert.equal('pid' in peer, false);
});

test('a bad xucred is an error, not a guess', () => {
  const wrongVersion = Buffer.alloc(88);
  wrongVersion.writeUInt32LE(7, 0);
  assert.throws(() => parseXucred(wrongVersion), PeerCredentialsError);
  assert.throws(() => parseXucred(Buffer.alloc(8)), /too short/);
  assert.throws(() => parseXucred(Buffer.alloc(88)), /no groups/);
});

test('the Groups: line of /proc/<pid>/status', () => {
  assert.deepEqual(parseProcStatusGroups('Name:\tnode\nGid:\t5\t5\t5\t5\nGroups:\t4 24 1001 \nNSpid:\t1\n'), [4, 24, 1001]);
  assert.deepEqual(parseProcStatusGroups('Groups:\t\n'), []);
  assert.deepEqual(parseProcStatusGroups('Name:\tx\n'), []);
});

test('/etc/passwd and /etc/group lines resolve by exact name', () => {
  const passwd = '# comment\nroot:x:0:0:root:/root:/bin/sh\nwebadmin:*:1005:1005::/home/w:/bin/sh\nweb:x:1006:1006::/:/bin/sh\n';
  assert.equal(lookupInColonFile(passwd, 'web'), 1006);
  assert.equal(lookupInColonFile(passwd, 'webadmin'), 1005);
  assert.equal(lookupInColonFile(passwd, 'root'), 0);
  assert.equal(lookupInColonFile(passwd, 'we'), null);
  assert.equal(lookupInColonFile('broken:x:notanumber:\n', 'broken'), null);
});

test('numeric owners and groups resolve without a lookup; unknown names resolve to null', () => {
  assert.equal(resolveUser('1234'), 1234);
  assert.equal(resolveUser(77), 77);
  assert.equal(resolveGroup(' 55 '), 55);
  assert.equal(resolveUser('root'), 0);
  assert.equal(resolveUser(''), null);
  assert.equal(resolveUser(-1), null);
  assert.equal(resolveUser('no_such_user_vmstated_test'), null);
  assert.equal(resolveGroup('no_such_group_vmstated_test'), null);
});

test('the rules: root all, owner and group members their VMs, others nothing hidden', () => {
  const user = { uid: 1234, gid: 600, groups: [700, 800] };
  assert.equal(authorize(user, 'start', { owner: '1234' }), 'allow');
  assert.equal(authorize(user, 'start', { group: '800' }), 'allow');
  assert.equal(authorize(user, 'start', { group: '600' }), 'allow');
  assert.equal(authorize(user, 'logs', { owner: '1', group: '900' }), 'hidden');
  assert.equal(authorize(user, 'status', { owner: 'no_such_user_vmstated_test' }), 'hidden');
  assert.equal(authorize(user, 'status', { owner: null, group: null }), 'hidden');
  assert.equal(authorize(user, 'status'), 'allow');
  assert.equal(authorize(user, 'reload'), 'forbidden');
  assert.equal(authorize(user, 'shutdown', { owner: '1234' }), 'forbidden');
  const root = { uid: 0, gid: 0, groups: [] };
  assert.equal(authorize(root, 'shutdown'), 'allow');
  assert.equal(canSee(root, {}), true);
  assert.equal(canSee({ uid: 5, gid: 0, groups: [0] }, {}), false, 'gid 0 is not root');
});

test('filterVisible keeps what canSee allows, for root everything, in order', () => {
  const vms = [
    { name: 'mine', owner: 1001 },
    { name: 'theirs', owner: 1002 },
    { name: 'ours', group: 20 },
    { name: 'nobodys' },
  ];
  const user = { uid: 1001, gid: 1001, groups: [20] };
  assert.deepEqual(filterVisible(user, vms, (vm) => vm).map((vm) => vm.name), ['mine', 'ours']);
  assert.deepEqual(filterVisible({ uid: 1002, gid: 1002, groups: [] }, vms, (vm) => vm).map((vm) => vm.name), ['theirs']);
  assert.deepEqual(filterVisible({ uid: 0, gid: 0, groups: [] }, new Set(vms), (vm) => vm).map((vm) => vm.name), ['mine', 'theirs', 'ours', 'nobodys']);
});
