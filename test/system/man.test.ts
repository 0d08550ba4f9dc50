/**
 * The manual pages: mandoc's lint is silent, and the pages document every config key (with its
 * default), state, hook variable, option, command and exit status that the code has. The lists
 * come from the code, so a key or command added there without a word in the manual fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VM_STATES } from '../../src/protocol/types.js';
import { DEFAULTS as KEY_DEFAULTS, VM_KEYS } from '../../src/config/keys.js';
import { COMMAND_ARGS } from '../../src/protocol/request.js';
import { DEFAULTS as DAEMON_DEFAULTS, USAGE } from '../../src/daemon/options.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import type * as BundleEntry from '../../src/cli/bundle-entry.js';

// From the bundle vmstatedctl runs: commands/index.ts loads each command with the bundle's require.
const { COMMANDS } = createRequire(import.meta.url)('../../src/cli/vmstatedctl.cjs') as typeof BundleEntry;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const VMSTATED_8 = path.join(ROOT, 'man/vmstated.8');
const VMSTATEDCTL_1 = path.join(ROOT, 'man/vmstatedctl.1');
const daemonPage = fs.readFileSync(VMSTATED_8, 'utf8');
const ctlPage = fs.readFileSync(VMSTATEDCTL_1, 'utf8');

/** The lines of one section (`.Sh NAME` up to the next `.Sh`). */
function section(page: string, name: string): string {
  const start = page.indexOf(`\n.Sh ${name}\n`);
  assert.notEqual(start, -1, `no section ${name}`);
  const end = page.indexOf('\n.Sh ', start + 1);
  return page.slice(start, end === -1 ? undefined : end);
}

/** The text of the `.It` item whose head line is `head`, up to the next `.It` or list end. */
function item(page: string, head: string): string {
  const start = page.indexOf(`\n${head}\n`);
  assert.notEqual(start, -1, `no item "${head}"`);
  const rest = page.slice(start + head.length + 2);
  const end = rest.search(/^\.(It|El)\b/m);
  return end === -1 ? rest : rest.slice(0, end);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('mandoc -T lint -W warning finds nothing in the man pages', async () => {
  const output = await new Promise<{ code: number; text: string }>((resolve, reject) => {
    execFile('mandoc', ['-T', 'lint', '-W', 'warning', VMSTATED_8, VMSTATEDCTL_1], (error, stdout, stderr) => {
      if (error !== null && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error('mandoc is not installed: apt-get install mandoc (.ci/run installs it); the man pages cannot be checked'));
      } else {
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, text: stdout + stderr });
      }
    });
  });
  assert.equal(output.text, '', 'mandoc lint output');
  assert.equal(output.code, 0);
});

test('vmstated(8) lists every config key, with its default where it has one', () => {
  for (const key of Object.keys(VM_KEYS)) {
    if (key === 'numcpus') {
      assert.match(item(daemonPage, '.It Ic cpus'), /^\.Ic numcpus$/m, 'numcpus is documented as the alias of cpus');
      continue;
    }
    const text = item(daemonPage, `.It Ic ${key}`);
    const fallback = (KEY_DEFAULTS as Record<string, unknown>)[key];
    if (fallback !== undefined) {
      assert.match(text, new RegExp(`Default: ${escapeRegExp(String(fallback))}\\.`), `the default of ${key}`);
    }
  }
});

test('vmstated(8) describes every state, and every state is a hook', () => {
  for (const state of VM_STATES) {
    assert.ok(item(daemonPage, `.It Cm ${state}`).trim().length > 0, state);
  }
  const hookVariables = ['VMSTATED_VM', 'VMSTATED_STATE', 'VMSTATED_REASON', 'VMSTATED_CONFIGDIR', 'VMSTATED_PID', 'VMSTATED_EXIT'];
  const workerSource = fs
    .readdirSync(path.join(ROOT, 'workers'))
    .filter((file) => file.endsWith('.ts'))
    .map((file) => fs.readFileSync(path.join(ROOT, 'workers', file), 'utf8'))
    .join('\n');
  for (const variable of hookVariables) {
    assert.ok(item(daemonPage, `.It Ev ${variable}`).trim().length > 0, variable);
    assert.ok(workerSource.includes(variable), `the workers set ${variable}`);
  }
  for (const reason of ['start', 'stop', 'reboot', 'crash', 'restart', 'failure', 'shutdown']) {
    assert.match(item(daemonPage, '.It Ev VMSTATED_REASON'), new RegExp(`^\\.Cm ${reason}\\b`, 'm'), reason);
  }
});

test('vmstated(8) documents every option of the usage line and every default path', () => {
  const synopsis = section(daemonPage, 'SYNOPSIS');
  const letters = /\[-([a-zA-Z]+)\]/.exec(USAGE)?.[1] ?? '';
  assert.ok(letters.length > 0, USAGE);
  const options = [...letters].map((letter) => `-${letter}`);
  for (const match of USAGE.matchAll(/\[(--?[a-z]+) [a-z]+\]/g)) options.push(match[1]!);
  const synopsisFlags = [...synopsis.matchAll(/Fl (\S+)/g)].map((match) => match[1]!);
  for (const option of options) {
    const name = option.slice(1);
    assert.ok(daemonPage.includes(`\n.It Fl ${name}`), `${option} is described`);
    const inSynopsis = name.length === 1
      ? synopsisFlags.some((flags) => /^[a-zA-Z]+$/.test(flags) && flags.includes(name))
      : synopsisFlags.includes(name);
    assert.ok(inSynopsis, `${option} is in the SYNOPSIS`);
  }
  for (const value of Object.values(DAEMON_DEFAULTS)) {
    assert.ok(daemonPage.includes(value), `the default ${value}`);
  }
});

test('vmstated(8) documents every command of the control protocol and its arguments', () => {
  const protocol = section(daemonPage, 'CONTROL PROTOCOL');
  for (const [command, args] of Object.entries(COMMAND_ARGS)) {
    const head = new RegExp(`^\\.It Ic (?:[a-z]+ , )*${command}\\b.*$`, 'm').exec(protocol);
    assert.ok(head, `the protocol command ${command}`);
    for (const arg of Object.keys(args)) {
      assert.match(head[0], new RegExp(`Ar ${arg}\\b`), `argument ${arg} of ${command}`);
    }
  }
  const types = fs.readFileSync(path.join(ROOT, 'src/protocol/types.ts'), 'utf8');
  const union = /export type ErrorCode =([^;]+);/.exec(types)?.[1] ?? '';
  const codes = [...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]!);
  assert.ok(codes.length > 0);
  for (const code of codes) assert.match(protocol, new RegExp(`^\\.It Dv ${code}$`, 'm'), code);
});

interface FlagSpec {
  char?: string;
  allowNo?: boolean;
}

test('vmstatedctl(1) documents every command, its options and every exit status', () => {
  const synopsis = section(ctlPage, 'SYNOPSIS');
  assert.ok(Object.keys(COMMANDS).length > 0);
  for (const [name, command] of Object.entries(COMMANDS)) {
    assert.match(ctlPage, new RegExp(`^\\.It Cm ${name}\\b`, 'm'), `the command ${name}`);
    assert.match(synopsis, new RegExp(`^\\.Cm (?:[a-z]+ \\| )*${name}\\b`, 'm'), `${name} in the SYNOPSIS`);
    const flags: Record<string, FlagSpec> = { ...command.baseFlags, ...command.flags };
    for (const [flag, spec] of Object.entries(flags)) {
      const forms = [`.Fl -${flag}`, `Fl -${flag}`];
      if (spec.char !== undefined) forms.push(`Fl ${spec.char}`);
      if (spec.allowNo === true) forms.push(`Fl -no-${flag}`);
      assert.ok(forms.some((form) => ctlPage.includes(form)), `option ${flag} of ${name} (one of ${forms.join(', ')})`);
    }
  }
  const exitStatus = section(ctlPage, 'EXIT STATUS');
  for (const code of Object.values(EXIT)) assert.match(exitStatus, new RegExp(`^\\.It ${code}$`, 'm'), `exit status ${code}`);
  assert.ok(ctlPage.includes('.It Ev VMSTATED_SOCKET'));
});

test('the EXAMPLES walk-through has what the original lacked to work as written', () => {
  const examples = section(daemonPage, 'EXAMPLES');
  assert.match(examples, /^ {4}memory = 4G;$/m);
  // Both hooks start with #!, or executing them fails (ENOEXEC) and the VM fails.
  const hooks = examples.split('.Bd -literal -offset indent\n').slice(1).filter((block) => /ifconfig tap0/.test(block));
  assert.equal(hooks.length, 2);
  for (const hook of hooks) assert.match(hook, /^#!\/bin\/sh\n/);
  // The config.dump=1 line is deleted, not left as an empty line.
  assert.match(examples, /sed -i '' '\/\^config\\e\.dump=\/d'/);
  // A disk image path relative to nothing would not be found by bhyve.
  assert.doesNotMatch(examples, /ahci-hd,disk\.img/);
});
