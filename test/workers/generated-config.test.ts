/** The worker's `<configfile>.generated`: written when it would change, left alone on a plain relaunch. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { generatedConfigText } from '../../src/config/generated.js';
import { GeneratedConfigWriter } from '../../workers/generated-config.js';
import { VmFixture } from './harness.js';

/** What identifies one write of the file: a rewrite (temp file + rename) gives a new inode. */
function identity(file: string): string {
  const stat = fs.statSync(file);
  return `${stat.ino}/${stat.mtimeMs}/${stat.mode}`;
}

function expected(fixture: VmFixture, vm = fixture.vm): Buffer {
  return generatedConfigText(vm, fs.readFileSync(vm.configfile));
}

test('generated config: a relaunch with nothing changed leaves the file as it is (no rewrite, no fsync)', async (t) => {
  const fixture = new VmFixture(t);
  const writer = new GeneratedConfigWriter();
  const target = await writer.write(fixture.vm);
  assert.equal(target, `${fixture.vm.configfile}.generated`);
  assert.ok(fs.readFileSync(target).equals(expected(fixture)));
  const first = identity(target);
  assert.equal(await writer.write(fixture.vm), target);
  assert.equal(identity(target), first, 'the same bytes were not written again');
});

test('generated config is rewritten when the bhyve file, the VM config, its mode or the file itself changed', async (t) => {
  const fixture = new VmFixture(t);
  const writer = new GeneratedConfigWriter();
  const target = await writer.write(fixture.vm);
  const changes: [string, () => void, typeof fixture.vm][] = [
    ['bhyve file edited', () => fs.appendFileSync(fixture.vm.configfile, 'x86.strictmsr=false\n'), fixture.vm],
    ['VM config changed', () => {}, { ...fixture.vm, memoryMiB: 512 }],
    ['bhyve file mode changed', () => fs.chmodSync(fixture.vm.configfile, 0o600), { ...fixture.vm, memoryMiB: 512 }],
    ['generated file overwritten', () => fs.writeFileSync(target, 'garbage\n'), { ...fixture.vm, memoryMiB: 512 }],
    ['generated file removed', () => fs.rmSync(target), { ...fixture.vm, memoryMiB: 512 }],
  ];
  for (const [change, make, vm] of changes) {
    make();
    await writer.write(vm);
    assert.ok(fs.readFileSync(target).equals(expected(fixture, vm)), change);
    assert.equal(fs.statSync(target).mode & 0o777, fs.statSync(vm.configfile).mode & 0o777 & ~process.umask(), change);
  }
});
