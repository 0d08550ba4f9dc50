import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { bhyveProcessesOf, isBhyveOf, parseProcessTable, readProcess, runsProgramFor } from '../../src/shared/process-table.js';
import { waitFor } from '../helpers/vmstated-env.js';

test('parseProcessTable reads FreeBSD and procps lines: pid, ppid, uid, the five words of lstart, then args with spaces', () => {
  const output = [
    '  812     1     0 Wed Dec  2 06:11:20 2026 bhyve: web (bhyve)',
    '13087 13085  1001 Thu Jan 15 23:59:01 2026 /bin/sh -c trap "" PIPE; exec bhyve -k /x web',
    'garbage',
    '',
  ].join('\n');
  assert.deepEqual(parseProcessTable(output), [
    { pid: 812, ppid: 1, uid: 0, startedAt: 'Wed Dec 2 06:11:20 2026', args: 'bhyve: web (bhyve)' },
    { pid: 13087, ppid: 13085, uid: 1001, startedAt: 'Thu Jan 15 23:59:01 2026', args: '/bin/sh -c trap "" PIPE; exec bhyve -k /x web' },
  ]);
});

test('isBhyveOf: the title bhyve gives itself (with or without ps\'s suffix) or, early on, its own arguments; never another VM or a shell', () => {
  const entry = (args: string) => ({ pid: 1, ppid: 1, uid: 0, startedAt: '', args });
  assert.equal(isBhyveOf(entry('bhyve: web (bhyve)'), 'web'), true);
  assert.equal(isBhyveOf(entry('bhyve: web'), 'web'), true);
  assert.equal(isBhyveOf(entry('/usr/sbin/bhyve -k /vm/web/bhyve_config.generated web'), 'web'), true);
  assert.equal(isBhyveOf(entry('bhyve: web2 (bhyve)'), 'web'), false);
  assert.equal(isBhyveOf(entry('bhyve: webx'), 'web'), false);
  assert.equal(isBhyveOf(entry('/bin/sh -c script keeper /usr/sbin/bhyve -k f web'), 'web'), false);
  assert.equal(isBhyveOf(entry('vi bhyve web'), 'web'), false);
});

test('isBhyveOf: a stand-in that sets no title is known by the command line it was launched with, also after its interpreter', () => {
  const entry = (args: string) => ({ pid: 1, ppid: 1, uid: 0, startedAt: '', args });
  const launched = ['/opt/fake-bhyve', '-k', '/vm/web/bhyve_config.generated', 'web'];
  assert.equal(isBhyveOf(entry('/opt/fake-bhyve -k /vm/web/bhyve_config.generated web'), 'web', launched), true);
  assert.equal(isBhyveOf(entry('/bin/sh /opt/fake-bhyve -k /vm/web/bhyve_config.generated web'), 'web', launched), true);
  assert.equal(isBhyveOf(entry('/bin/sh /opt/fake-bhyve -k /vm/web/bhyve_config.generated web'), 'web'), false, 'without the launch record');
  assert.equal(isBhyveOf(entry('/bin/sh /opt/fake-bhyve -k /vm/web/bhyve_config.generated web2'), 'web', launched), false);
  assert.equal(isBhyveOf(entry('/bin/sh /opt/other-fake-bhyve -k /vm/web/bhyve_config.generated web'), 'web', launched), false);
  const fromPath = ['fake-bhyve', '-k', '/vm/web/bhyve_config.generated', 'web'];
  assert.equal(isBhyveOf(entry('fake-bhyve -k /vm/web/bhyve_config.generated web'), 'web', fromPath), true, 'a program looked up in PATH');
  assert.equal(isBhyveOf(entry('/bin/sh /usr/local/bin/fake-bhyve -k /vm/web/bhyve_config.generated web'), 'web', fromPath), true, 'its script run by sh');
  const spaced = ['/opt/my vms/fake-bhyve', '-k', '/vm/my web/bhyve_config.generated', 'web'];
  assert.equal(isBhyveOf(entry('/bin/sh /opt/my vms/fake-bhyve -k /vm/my web/bhyve_config.generated web'), 'web', spaced), true, 'paths with spaces');
});

test('runsProgramFor: a stand-in run by hand for a VM, whatever its config file, itself or as a script; not for another VM', () => {
  const entry = (args: string) => ({ pid: 1, ppid: 1, uid: 0, startedAt: '', args });
  assert.equal(runsProgramFor(entry('/opt/fake-bhyve -k /tmp/x.cfg web'), '/opt/fake-bhyve', 'web'), true);
  assert.equal(runsProgramFor(entry('/bin/sh /opt/fake-bhyve -k /tmp/x.cfg web'), '/opt/fake-bhyve', 'web'), true);
  assert.equal(runsProgramFor(entry('/bin/sh /usr/local/bin/fake-bhyve -k /tmp/x.cfg web'), 'fake-bhyve', 'web'), true);
  assert.equal(runsProgramFor(entry('/bin/sh /opt/fake-bhyve -k /tmp/x.cfg web2'), '/opt/fake-bhyve', 'web'), false);
  assert.equal(runsProgramFor(entry('/bin/sh -c script vmstated-keeper fifo exit /opt/fake-bhyve -k f web'), '/opt/fake-bhyve', 'web'), false, 'a keeper');
});

test('a live process is found by its title and its pid; once gone, neither', async () => {
  const child = spawn(process.execPath, ['-e', 'process.title = "bhyve: proctable-test"; console.log("up"); setInterval(() => {}, 1000)'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await once(child.stdout!, 'data');
  try {
    const found = await bhyveProcessesOf('proctable-test');
    assert.deepEqual(found.map((entry) => entry.pid), [child.pid]);
    const self = await readProcess(child.pid!);
    assert.equal(self?.ppid, process.pid);
    assert.match(self?.startedAt ?? '', /^\w{3} \w{3} \d{1,2} \d\d:\d\d:\d\d \d{4}$/);
  } finally {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  await waitFor('the process to leave the table', async () => ((await bhyveProcessesOf('proctable-test')).length === 0 ? true : undefined));
  assert.equal(await readProcess(child.pid!), null);
});
