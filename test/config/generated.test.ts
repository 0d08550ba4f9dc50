/** `<configfile>.generated`: content (DESIGN.md section 4) and atomic replacement. */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { GeneratedConfigWriter, generatedConfigText, writeGeneratedConfig } from '../../src/config/generated.js';
import { loadConfigDir } from '../../src/config/load.js';
import type { VmConfig } from '../../src/config/types.js';
import { summarize, tempDir, writeVm } from './helpers.js';

/** What `bhyve ... -o config.dump=1 bsdvm` prints for the man page's example, config.dump removed. */
const BSDVM_BHYVE_CONFIG = [
  'acpi_tables=false', 'cpus=2', 'memory.size=4G', 'x86.strictmsr=false', 'x86.vmexit_on_hlt=true',
  'pci.0.0.0.device=hostbridge', 'pci.0.4.0.device=ahci', 'pci.0.4.0.port.0.type=hd',
  'pci.0.4.0.port.0.path=disk.img', 'pci.0.5.0.device=virtio-net', 'pci.0.5.0.backend=tap0',
  'pci.0.29.0.device=fbuf', 'pci.0.29.0.tcp=[::]:5900', 'pci.0.29.0.w=800', 'pci.0.29.0.h=600',
  'pci.0.30.0.device=xhci', 'pci.0.30.0.slot.1.device=tablet', 'pci.0.31.0.device=lpc',
  'lpc.com1.path=stdio', 'lpc.bootrom=/usr/local/share/uefi-firmware/BHYVE_UEFI.fd', '', 'name=bsdvm', '',
].join('\n');

async function loadSingle(configdir: string): Promise<VmConfig> {
  const load = await loadConfigDir(configdir);
  assert.deepEqual(summarize(load.problems), []);
  assert.equal(load.vms.length, 1);
  return load.vms[0]!;
}

test("the man page's bsdvm example generates the bhyve file, a newline, com1 on vmstated's nmdm console and name=bsdvm", async (t) => {
  const configdir = tempDir(t);
  const bhyveConfig = path.join(configdir, 'bsdvm', 'bhyve_config');
  writeVm(configdir, 'bsdvm', `bsdvm { configfile = ${bhyveConfig}; }\n`, BSDVM_BHYVE_CONFIG);
  const vm = await loadSingle(configdir);
  const written = await writeGeneratedConfig(vm);
  assert.equal(written, `${bhyveConfig}.generated`);
  const expected = Buffer.from(`${BSDVM_BHYVE_CONFIG}\nlpc.com1.path=/dev/nmdm-vmstated-bsdvmA\nname=bsdvm\n`);
  assert.ok(fs.readFileSync(written).equals(expected), fs.readFileSync(written, 'utf8'));
});

test('every UCL setting becomes a bhyve line, in order, with name last', async (t) => {
  const configdir = tempDir(t);
  writeVm(configdir, 'vm0', `vm0 {
    name = gen;
    configfile = bhyve_config;
    bootrom = firmware.fd;
    vmexit_on_halt = false;
    generate_acpi_tables = true;
    threads = 1;
    cores = 2;
    sockets = 1;
    cpus = 2;
    memory = 2G;
    description = "not for bhyve";
}
`, 'cpus=1');
  const vm = await loadSingle(configdir);
  const text = generatedConfigText(vm, Buffer.from('cpus=1'));
  assert.equal(text.toString('utf8'), [
    'cpus=1', 'memory.size=2048M', 'cpus=2', 'sockets=1', 'cores=2', 'threads=1', 'acpi_tables=true',
    'x86.vmexit_on_hlt=false', `lpc.bootrom=${path.join(vm.dir, 'firmware.fd')}`, 'name=gen', '',
  ].join('\n'));
});

test('the bhyve bytes are kept as they are, even without a final newline or in another encoding', () => {
  const vm = { name: 'raw', configfile: '/x', memoryMiB: 512 } as VmConfig;
  const bytes = Buffer.from([0x23, 0xe9, 0x0a, 0x63, 0x70, 0x75, 0x73, 0x3d, 0x31]); // "#\xe9\ncpus=1", latin-1
  const text = generatedConfigText(vm, bytes);
  assert.ok(text.subarray(0, bytes.length).equals(bytes));
  assert.equal(text.subarray(bytes.length).toString(), '\nmemory.size=512M\nname=raw\n');
});

test('writing replaces an older generated file completely and leaves no temporary file', async (t) => {
  const configdir = tempDir(t);
  writeVm(configdir, 'vm0', 'vm0 { configfile = bhyve_config; cpus = 2; }\n', 'lpc.com1.path=stdio\n');
  const vm = await loadSingle(configdir);
  const target = `${vm.configfile}.generated`;
  fs.writeFileSync(target, 'stale line\n'.repeat(1000));
  await writeGeneratedConfig(vm);
  assert.equal(fs.readFileSync(target, 'utf8'), 'lpc.com1.path=stdio\n\ncpus=2\nlpc.com1.path=/dev/nmdm-vmstated-vm0A\nname=vm0\n');
  assert.deepEqual(fs.readdirSync(vm.dir).sort(), ['bhyve_config', 'bhyve_config.generated', 'config']);
});

test('concurrent writes each leave a complete file, never a mix', async (t) => {
  const configdir = tempDir(t);
  writeVm(configdir, 'vm0', 'vm0 { configfile = bhyve_config; }\n', 'x=1\n'.repeat(5000));
  const base = await loadSingle(configdir);
  const variants = Array.from({ length: 12 }, (_, i) => ({ ...base, memoryMiB: 1024 + i }));
  await Promise.all(variants.map((vm) => writeGeneratedConfig(vm)));
  const content = fs.readFileSync(`${base.configfile}.generated`);
  const bhyve = fs.readFileSync(base.configfile);
  assert.ok(variants.some((vm) => generatedConfigText(vm, bhyve).equals(content)));
  assert.deepEqual(fs.readdirSync(base.dir).sort(), ['bhyve_config', 'bhyve_config.generated', 'config']);
});

test('a failed write leaves no temporary file and reports the error', async (t) => {
  const configdir = tempDir(t);
  writeVm(configdir, 'vm0', 'vm0 { configfile = bhyve_config; }\n');
  const vm = await loadSingle(configdir);
  fs.mkdirSync(`${vm.configfile}.generated`); // rename cannot replace a directory with a file
  await assert.rejects(writeGeneratedConfig(vm));
  assert.deepEqual(fs.readdirSync(vm.dir).sort(), ['bhyve_config', 'bhyve_config.generated', 'config']);
  fs.rmSync(vm.configfile);
  fs.rmdirSync(`${vm.configfile}.generated`);
  await assert.rejects(writeGeneratedConfig(vm), /ENOENT/);
  assert.deepEqual(fs.readdirSync(vm.dir), ['config']);
});

test('the generated file keeps the bhyve file permissions', async (t) => {
  const configdir = tempDir(t);
  writeVm(configdir, 'vm0', 'vm0 { configfile = bhyve_config; }\n');
  const vm = await loadSingle(configdir);
  fs.chmodSync(vm.configfile, 0o600);
  const written = await writeGeneratedConfig(vm);
  assert.equal(fs.statSync(written).mode & 0o777, 0o600);
});

test('a temporary file left by a writer that died is removed by the next write', async (t) => {
  const configdir = tempDir(t);
  writeVm(configdir, 'vm0', 'vm0 { configfile = bhyve_config; }\n');
  const vm = await loadSingle(configdir);
  const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
  const stale = path.join(vm.dir, `.bhyve_config.generated.${deadPid}.0badf00d.tmp`);
  const otherWriter = path.join(vm.dir, `.bhyve_config.generated.${process.ppid}.0badf00d.tmp`);
  fs.writeFileSync(stale, 'half a fi');
  fs.writeFileSync(otherWriter, 'being written');
  await writeGeneratedConfig(vm);
  assert.equal(fs.existsSync(stale), false);
  assert.equal(fs.existsSync(otherWriter), true, 'a live writer keeps its temporary file');
});

/** What identifies one write of the file: a rewrite (temp file + rename) gives a new inode. */
function identity(file: string): string {
  const stat = fs.statSync(file);
  return `${stat.ino}/${stat.mtimeMs}/${stat.mode}`;
}

function expectedText(vm: VmConfig): Buffer {
  return generatedConfigText(vm, fs.readFileSync(vm.configfile));
}

/** A VM with a bhyve file, and a writer that has written its generated file once. */
async function writtenOnce(t: TestContext): Promise<{ vm: VmConfig; writer: GeneratedConfigWriter; target: string }> {
  const configdir = tempDir(t);
  writeVm(configdir, 'vm0', 'vm0 { configfile = bhyve_config; }\n', 'hostbridge=hostbridge\n');
  const vm = await loadSingle(configdir);
  const writer = new GeneratedConfigWriter();
  return { vm, writer, target: await writer.write(vm) };
}

test('GeneratedConfigWriter: a relaunch with nothing changed leaves the file as it is (no rewrite, no fsync)', async (t) => {
  const { vm, writer, target } = await writtenOnce(t);
  assert.equal(target, `${vm.configfile}.generated`);
  assert.ok(fs.readFileSync(target).equals(expectedText(vm)));
  const first = identity(target);
  assert.equal(await writer.write(vm), target);
  assert.equal(identity(target), first, 'the same bytes were not written again');
});

test('GeneratedConfigWriter rewrites when the bhyve file, the VM config, its mode or the file itself changed', async (t) => {
  const { vm: base, writer, target } = await writtenOnce(t);
  const changed = { ...base, memoryMiB: 512 };
  const changes: [string, () => void, VmConfig][] = [
    ['bhyve file edited', () => fs.appendFileSync(base.configfile, 'x86.strictmsr=false\n'), base],
    ['VM config changed', () => {}, changed],
    ['bhyve file mode changed', () => fs.chmodSync(base.configfile, 0o600), changed],
    ['generated file overwritten', () => fs.writeFileSync(target, 'garbage\n'), changed],
    ['generated file removed', () => fs.rmSync(target), changed],
  ];
  for (const [change, make, vm] of changes) {
    const before = fs.existsSync(target) ? identity(target) : null;
    make();
    await writer.write(vm);
    assert.ok(fs.readFileSync(target).equals(expectedText(vm)), change);
    assert.notEqual(identity(target), before, `${change}: rewritten`);
    assert.equal(fs.statSync(target).mode & 0o777, fs.statSync(vm.configfile).mode & 0o777 & ~process.umask(), change);
  }
});
