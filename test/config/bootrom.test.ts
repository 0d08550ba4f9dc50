/** The boot ROM rule: where a VM names its ROM, which assignment counts, and what each architecture needs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { bootromProblem } from '../../src/config/bootrom.js';
import { generatedSettings } from '../../src/config/generated.js';
import { loadConfigDir } from '../../src/config/load.js';
import type { VmConfig } from '../../src/config/types.js';
import { bootromLine, onlyProblem, standInRom, summarize, tempDir, writeVm } from './helpers.js';

test('the bhyve file\'s last boot ROM assignment counts; a missing ROM is an error at its line; the config\'s bootrom wins', async (t) => {
  const configdir = tempDir(t);
  const rom = standInRom(configdir);
  const missing = path.join(configdir, 'nope.fd');
  writeVm(configdir, 'last-bad', 'a { configfile = bhyve_config; }\n', `${bootromLine(rom)}\ncpus=1\n${bootromLine(missing)}\n`);
  writeVm(configdir, 'last-good', 'b { configfile = bhyve_config; }\n', `${bootromLine(missing)}\n${bootromLine(rom)}\n`);
  writeVm(configdir, 'key-wins', `c { configfile = bhyve_config; bootrom = "${rom}"; }\n`, `${bootromLine(missing)}\n`);
  writeVm(configdir, 'relative', 'd { configfile = bhyve_config; }\n', `${bootromLine('firmware/BHYVE_UEFI.fd')}\n`);
  const load = await loadConfigDir(configdir);
  assert.deepEqual(load.vms.map((vm) => vm.name), ['c', 'b']);
  const bad = onlyProblem(load.problems.filter((p) => p.vm === 'a'));
  assert.deepEqual([bad.file, bad.line, bad.column], [path.join(configdir, 'last-bad', 'bhyve_config'), 3, 1]);
  assert.equal(bad.message, `boot ROM ${missing} does not exist: bhyve would exit 4 at every start; install the firmware (pkg install edk2-bhyve) ` +
    'and name /usr/local/share/uefi-firmware/BHYVE_UEFI.fd in lpc.bootrom in bhyve_config, or name a ROM that exists');
  assert.match(onlyProblem(load.problems.filter((p) => p.vm === 'd')).message, /is a relative path: bhyve would open it from its own working directory/);
  assert.equal(summarize(load.problems).length, 2);
});

test('arm64 reads `bootrom` (U-Boot), amd64 `lpc.bootrom` (UEFI); other architectures have no rule', async () => {
  const none = await bootromProblem({}, { vm: 'web', bhyveFile: 'bhyve_config' }, 'arm64');
  assert.match(none?.message ?? '', /^VM web has no boot ROM: bhyve would exit 4 \("no bootrom specified"\); install the firmware \(pkg install u-boot-bhyve-arm64\) and set {2}bootrom = \/usr\/local\/share\/u-boot\/u-boot-bhyve-arm64\/u-boot.bin;.*\(or bootrom=/);
  const gone = await bootromProblem({ fromBhyveFile: { value: '/nonexistent/u-boot.bin', at: { line: 2, column: 1 } } }, { vm: 'web', bhyveFile: 'bhyve_config' }, 'arm64');
  assert.match(gone?.message ?? '', /does not exist: bhyve would exit 1 at every start; install the firmware \(pkg install u-boot-bhyve-arm64\) and name .* in bootrom in bhyve_config, or name a ROM that exists$/);
  const notInstalled = await bootromProblem({ fromConfig: { path: '/usr/local/share/u-boot/u-boot-bhyve-arm64/u-boot.bin', at: { line: 1, column: 5 } } }, { vm: 'web', bhyveFile: 'bhyve_config' }, 'arm64');
  assert.match(notInstalled?.message ?? '', /does not exist: bhyve would exit 1 at every start; install the firmware: pkg install u-boot-bhyve-arm64$/);
  assert.equal(await bootromProblem({}, { vm: 'web', bhyveFile: 'bhyve_config' }, 'riscv64'), null);
  const vm = { name: 'web', bootrom: '/rom.fd' } as VmConfig;
  assert.deepEqual(generatedSettings(vm, 'arm64'), ['bootrom=/rom.fd', 'name=web']);
  assert.deepEqual(generatedSettings(vm, 'x64'), ['lpc.bootrom=/rom.fd', 'name=web']);
});
