/** One VM from the top-level object of a config file: every key read, checked and defaulted. */
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { UclNode, UclObjectNode } from '../ucl/types.js';
import { resolveGroup, resolveUser } from '../auth/authorize.js';
import { VM_STATES } from '../protocol/types.js';
import { closestKey, DEFAULTS, isVmKey, VM_KEYS, type KeyKind, type VmKey } from './keys.js';
import { keyPosition, type Position, type ProblemList, valuePosition } from './problems.js';
import { bhyveConfigValues, TOPOLOGY_KEYS, type Topology, topologyMismatch } from './topology.js';
import type { VmConfig } from './types.js';
import { ANY_INTEGER, readBoolean, readDuration, readInteger, readMemory, readPath, readText } from './values.js';

/** What reading one config file found out. */
export interface VmRead {
  /** The VM, when the file has no errors. */
  vm?: VmConfig;
  /** The VM name, when the file got far enough to tell (also for a rejected VM). */
  name?: string;
  /** Where the name is written. */
  nameAt?: Position;
}

type Value = string | number | boolean;

/** The settings a config file gives, each with the node it came from. */
class Settings {
  readonly values = new Map<VmKey, Value>();
  readonly nodes = new Map<VmKey, UclNode>();

  text(key: VmKey): string | undefined {
    const value = this.values.get(key);
    return typeof value === 'string' ? value : undefined;
  }

  number(key: VmKey): number | undefined {
    const value = this.values.get(key);
    return typeof value === 'number' ? value : undefined;
  }

  bool(key: VmKey): boolean | undefined {
    const value = this.values.get(key);
    return typeof value === 'boolean' ? value : undefined;
  }
}

/** bhyve's VM_MAX_NAMELEN is 32 with the NUL; the name also names log, socket and vmm files. */
export const MAX_VM_NAME_LENGTH = 31;
const VM_NAME = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${MAX_VM_NAME_LENGTH - 1}}$`);
/** The daemon logs to `<logdir>/vmstated.log`, beside the VM logs `<logdir>/<vm>.log`. */
const DAEMON_LOG_NAME = 'vmstated';

export async function readVm(root: UclObjectNode, file: string, problems: ProblemList): Promise<VmRead> {
  const vmNode = theVmObject(root, problems);
  if (!vmNode) return {};
  const dir = path.dirname(file);
  const settings = readSettings(vmNode, dir, problems);
  const named = vmName(vmNode, settings, problems);
  problems.vm = named.name;
  const vm = buildVm(settings, named.name ?? '', file, dir);
  if (!settings.nodes.has('configfile')) {
    problems.error(keyPosition(vmNode), `VM ${named.name ?? vmNode.key?.name} has no configfile: ` +
      'set it to the bhyve config file, for example  configfile = bhyve_config;');
  }
  await checkFiles(vm, settings, problems);
  checkAccounts(vm, settings, problems);
  if (problems.errorCount > 0 || !named.valid) return { name: named.name, nameAt: named.at };
  return { vm, name: named.name, nameAt: named.at };
}

/** The one top-level object that defines the VM. */
function theVmObject(root: UclObjectNode, problems: ProblemList): UclObjectNode | undefined {
  const entries = [...root.value];
  if (entries.length === 0) {
    problems.error({ line: 1, column: 1 },
      'no VM defined: a config file holds one VM, for example  bsdvm { configfile = bhyve_config; }');
    return undefined;
  }
  for (const [key, node] of entries) {
    if (node.type === 'implicit') {
      problems.error(keyPosition(node.value[1] ?? node),
        `VM ${key} is defined ${node.value.length} times: a config file defines exactly one VM`);
      return undefined;
    }
    if (node.type !== 'object') {
      problems.error(keyPosition(node), `top-level key ${key} is not a VM object: put the VM's settings ` +
        `inside  <name> { ... }`);
      return undefined;
    }
  }
  if (entries.length > 1) {
    const names = entries.map(([key]) => key).join(', ');
    problems.error(keyPosition(entries[1]![1]),
      `more than one top-level object (${names}): a config file defines exactly one VM`);
    return undefined;
  }
  return entries[0]![1] as UclObjectNode;
}

function readSettings(vmNode: UclObjectNode, dir: string, problems: ProblemList): Settings {
  const settings = new Settings();
  for (const [key, node] of vmNode.value) {
    if (!isVmKey(key)) {
      const suggestion = closestKey(key);
      const hint = suggestion ? `; did you mean ${suggestion}?` : '';
      problems.warn(keyPosition(node.type === 'implicit' ? (node.value[0] ?? node) : node),
        `unknown key ${key} is ignored${hint}`);
      continue;
    }
    if (node.type === 'implicit') {
      const first = node.value[0] ? keyPosition(node.value[0]) : keyPosition(node);
      problems.error(keyPosition(node.value[1] ?? node),
        `${key} is given ${node.value.length} times (first at line ${first.line}): give it once`);
      continue;
    }
    const target: VmKey = key === 'numcpus' ? 'cpus' : key;
    const earlier = settings.nodes.get(target);
    if (earlier) {
      problems.error(keyPosition(node), `${key} and ${earlier.key?.name ?? target} both set the number of ` +
        `vCPUs (numcpus is another name for cpus): keep one`);
      continue;
    }
    settings.nodes.set(target, node);
    const value = readValue(VM_KEYS[key], node, key, dir, problems);
    if (value !== undefined) settings.values.set(target, value);
  }
  return settings;
}

function readValue(kind: KeyKind, node: UclNode, key: string, dir: string, problems: ProblemList): Value | undefined {
  switch (kind) {
    case 'text':
      return readText(node, key, problems);
    case 'path':
      return readPath(node, key, dir, problems);
    case 'bool':
      return readBoolean(node, key, problems);
    case 'count':
      return readInteger(node, key, { min: 0, max: ANY_INTEGER.max }, problems);
    case 'order':
      return readInteger(node, key, ANY_INTEGER, problems);
    case 'vcpus':
      return readInteger(node, key, { min: 1, max: 65535 }, problems);
    case 'duration':
      return readDuration(node, key, { allowZero: true }, problems);
    case 'timeout':
      return readDuration(node, key, { allowZero: false }, problems);
    case 'memory':
      return readMemory(node, problems);
  }
}

/** The `name` key, or else the top-level key. */
function vmName(vmNode: UclObjectNode, settings: Settings, problems: ProblemList):
  { name?: string; at: Position; valid: boolean } {
  const nameNode = settings.nodes.get('name');
  const given = settings.text('name');
  if (nameNode && given === undefined) return { at: valuePosition(nameNode), valid: false }; // reported
  const name = given ?? vmNode.key?.name ?? '';
  const at = given !== undefined && nameNode ? valuePosition(nameNode) : keyPosition(vmNode);
  if (name === DAEMON_LOG_NAME) {
    problems.error(at, `VM name "${DAEMON_LOG_NAME}" is reserved: its log would be the daemon's own ${DAEMON_LOG_NAME}.log`);
    return { name, at, valid: false };
  }
  if (!VM_NAME.test(name)) {
    problems.error(at, `VM name ${JSON.stringify(name)} is not usable: a name is 1 to 31 letters, digits, ` +
      `'.', '_' or '-', starting with a letter or digit (bhyve's limit; it also names files)`);
    return { name, at, valid: false };
  }
  return { name, at, valid: true };
}

function buildVm(settings: Settings, name: string, file: string, dir: string): VmConfig {
  const vm: VmConfig = {
    name,
    file,
    dir,
    configfile: settings.text('configfile') ?? '',
    scriptpath: settings.text('scriptpath') ?? dir,
    maxrestart: settings.number('maxrestart') ?? DEFAULTS.maxrestart,
    maxrestarttime: settings.number('maxrestarttime') ?? DEFAULTS.maxrestarttime,
    autostart: settings.bool('autostart') ?? DEFAULTS.autostart,
    startorder: settings.number('startorder') ?? DEFAULTS.startorder,
    startdelay: settings.number('startdelay') ?? DEFAULTS.startdelay,
    stoptimeout: settings.number('stoptimeout') ?? DEFAULTS.stoptimeout,
    hooktimeout: settings.number('hooktimeout') ?? DEFAULTS.hooktimeout,
  };
  const optional = {
    os: settings.text('os'),
    osversion: settings.text('osversion'),
    owner: settings.text('owner'),
    group: settings.text('group'),
    description: settings.text('description'),
    bootrom: settings.text('bootrom'),
    generateAcpiTables: settings.bool('generate_acpi_tables'),
    vmexitOnHalt: settings.bool('vmexit_on_halt'),
    memoryMiB: settings.number('memory'),
    cpus: settings.number('cpus'),
    sockets: settings.number('sockets'),
    cores: settings.number('cores'),
    threads: settings.number('threads'),
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) Object.assign(vm, { [key]: value });
  }
  return vm;
}

/** An owner or group that does not exist gives nobody but root control of the VM: say so. */
function checkAccounts(vm: VmConfig, settings: Settings, problems: ProblemList): void {
  const ownerNode = settings.nodes.get('owner');
  if (vm.owner !== undefined && ownerNode && resolveUser(vm.owner) === null) {
    problems.warn(valuePosition(ownerNode), `owner ${vm.owner} is not a user on this host: ` +
      'until it is, the owner cannot manage this VM');
  }
  const groupNode = settings.nodes.get('group');
  if (vm.group !== undefined && groupNode && resolveGroup(vm.group) === null) {
    problems.warn(valuePosition(groupNode), `group ${vm.group} is not a group on this host: ` +
      'until it is, its members cannot manage this VM');
  }
}

/** The files the VM needs: the bhyve config file must be readable and usable; hooks should run. */
async function checkFiles(vm: VmConfig, settings: Settings, problems: ProblemList): Promise<void> {
  const configfileNode = settings.nodes.get('configfile');
  if (vm.configfile !== '' && configfileNode) {
    const text = await readBhyveFile(vm.configfile, valuePosition(configfileNode), problems);
    if (text !== undefined) checkBhyveFile(vm.configfile, text, settings, problems);
  }
  const scriptpathNode = settings.nodes.get('scriptpath');
  if (scriptpathNode && settings.values.has('scriptpath')) {
    const isDir = await fs.stat(vm.scriptpath).then((s) => s.isDirectory(), () => false);
    if (!isDir) {
      problems.warn(valuePosition(scriptpathNode),
        `scriptpath ${vm.scriptpath} is not a directory: no hook script will run`);
      return;
    }
  }
  await checkHookScripts(vm.scriptpath, problems);
}

async function readBhyveFile(file: string, at: Position, problems: ProblemList): Promise<string | undefined> {
  try {
    const stat = await fs.stat(file);
    if (stat.isDirectory()) {
      problems.error(at, `configfile ${file} is a directory, not a bhyve config file`);
      return undefined;
    }
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (err as Error).message})`;
    problems.error(at, `bhyve config file ${file} ${why}`);
    return undefined;
  }
}

function checkBhyveFile(file: string, text: string, settings: Settings, problems: ProblemList): void {
  text.split('\n').forEach((line, index) => checkBhyveLine(line, { file, line: index + 1, column: 1 }, problems));
  const topology: Topology = {};
  let at: Position | undefined;
  for (const key of TOPOLOGY_KEYS) {
    const value = settings.number(key);
    const node = settings.nodes.get(key);
    if (!node) continue;
    if (value === undefined) return; // its type error is reported already
    topology[key] = value;
    at ??= valuePosition(node);
  }
  if (!at) return;
  const mismatch = topologyMismatch(topology, { name: path.basename(file), values: bhyveConfigValues(text) });
  if (mismatch) problems.error(at, mismatch);
}

/** bhyve reads `key=value` lines as they are (no trimming), skips `#` and empty lines, exits 4 on others. */
function checkBhyveLine(line: string, at: Position, problems: ProblemList): void {
  if (line === '' || line.startsWith('#')) return;
  const equals = line.indexOf('=');
  if (equals <= 0 || equals === line.length - 1) {
    problems.error(at, `bhyve would refuse this line and exit with status 4: ${JSON.stringify(line)} is not ` +
      'key=value (lines starting with # are comments)');
    return;
  }
  const key = line.slice(0, equals);
  if (key.trim() !== key) {
    problems.warn(at, `the key ${JSON.stringify(key)} has spaces around it, which bhyve keeps: it is not the key ` +
      `${key.trim()}`);
  }
  if (/^config\.dump=(1|true|yes|on)$/i.test(line)) {
    problems.error(at, 'config.dump makes bhyve print its config and exit instead of running the VM: ' +
      'remove this line (see vmstated(8), EXAMPLES)');
  }
}

/** A hook that exists but cannot be executed is surely a forgotten chmod. */
async function checkHookScripts(scriptpath: string, problems: ProblemList): Promise<void> {
  await Promise.all(VM_STATES.map(async (state) => {
    const hook = path.join(scriptpath, state);
    const stat = await fs.stat(hook).catch(() => undefined);
    if (!stat) return;
    const executable = stat.isFile() && (stat.mode & (fsConstants.S_IXUSR | fsConstants.S_IXGRP | fsConstants.S_IXOTH)) !== 0;
    if (!executable) {
      problems.warn({ file: hook, line: 0, column: 0 },
        `hook script ${state} is not an executable file (chmod 755 ${hook})`);
    }
  }));
}
