import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureSimBootrom } from '../../src/bhyvesim/paths.js';
import { bootromKey } from '../../src/config/bootrom.js';
import { loadConfigDir } from '../../src/config/load.js';
import { MAX_CONFIG_BYTES } from '../../src/shared/safe-read.js';
import { SPECIAL_SHAPES, writeSpecial } from '../helpers/hostile-files.js';
import { PROJECT_ROOT } from '../helpers/paths.js';
import { seededRandom } from './cluster.js';

const SEED = 0xc0ffee;
const ROUNDS = 1000;
const TOKENS = [
  '{', '}', '[', ']', '"', "'", ';', ',', '=', ':', '\n', '#', '/*', '*/', '\\', '\\u', '${', '$', '\u0000', '\ufeff', '\xff',
  '.include "config"', '.include "*"', '.try_include "nope"', '.priority 5', '.macro', '.include(prefix=true,key="x") "bhyve_config"',
  'memory = 4G;', 'memory = "-1M";', 'memory = 1e999;', 'cpus = 99999999999999999999999;', 'cpus = 0x;', 'name = "";',
  'name = "db";', 'configfile = "/nonexistent";', 'stoptimeout = -5s;', 'maxrestarttime = 1e308min;', 'autostart = maybe;',
  'startorder = [1, 2];', 'owner = { x = 1 };', 'sockets = 3; cores = 3; threads = 3; cpus = 2;', 'web { }', 'db = 1;',
  '<<EOD\nheredoc\nEOD\n', '"\\uD800"', '1.2.3', 'true', 'null', '-', '0777', '9'.repeat(400),
];

type Random = () => number;

function mutate(random: Random, text: string): string {
  let out = text;
  for (let n = 1 + Math.floor(random() * 6); n > 0; n -= 1) {
    const at = Math.floor(random() * (out.length + 1));
    const op = Math.floor(random() * 5);
    if (op === 0) out = out.slice(0, at) + TOKENS[Math.floor(random() * TOKENS.length)]! + out.slice(at);
    else if (op === 1) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(random() * 20));
    else if (op === 2) out = out.slice(0, at);
    else if (op === 3) out = out.slice(0, at) + out.slice(Math.floor(random() * out.length));
    else out = out.slice(0, at) + String.fromCharCode(Math.floor(random() * 0x3000)) + out.slice(at);
  }
  return out;
}

test('config fuzz (seeded mutations of the example configs through loadConfigDir): every outcome is reported problems with positions, never a throw', { timeout: 60_000 }, async (t) => {
  const examples = path.join(PROJECT_ROOT, 'examples');
  const originals = fs.readdirSync(examples)
    .filter((name) => fs.existsSync(path.join(examples, name, 'config')))
    .map((name) => ({ name, text: fs.readFileSync(path.join(examples, name, 'config'), 'utf8') }));
  assert.ok(originals.length >= 2, 'the examples have VM configs to mutate');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmstated-config-fuzz-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const { name } of originals) {
    fs.mkdirSync(path.join(dir, name));
    fs.copyFileSync(path.join(examples, name, 'bhyve_config'), path.join(dir, name, 'bhyve_config'));
  }

  const random = seededRandom(SEED);
  const deadline = Date.now() + 30_000;
  let rounds = 0;
  let problems = 0;
  let loaded = 0;
  for (; rounds < ROUNDS && Date.now() < deadline; rounds += 1) {
    const written = originals.map(({ name, text }) => {
      const mutated = random() < 0.15 ? text : mutate(random, text);
      fs.writeFileSync(path.join(dir, name, 'config'), mutated);
      return mutated;
    });
    let result;
    try {
      result = await loadConfigDir(dir);
    } catch (err) {
      assert.fail(`round ${rounds} (seed ${SEED}) threw ${(err as Error).stack}\n${written.map((text, i) => `--- ${originals[i]!.name}/config ---\n${text}`).join('\n')}`);
    }
    for (const problem of result.problems) {
      assert.ok(problem.severity === 'error' || problem.severity === 'warning', JSON.stringify(problem));
      assert.ok(problem.file.startsWith(dir), `a problem names its file: ${JSON.stringify(problem)}`);
      assert.ok(Number.isInteger(problem.line) && problem.line >= 0 && Number.isInteger(problem.column) && problem.column >= 0, JSON.stringify(problem));
      assert.ok(typeof problem.message === 'string' && problem.message.length > 0, JSON.stringify(problem));
    }
    const accounted = result.vms.length + (result.rejected?.length ?? 0);
    assert.equal(accounted, originals.length, `round ${rounds}: each config file either loads or is rejected with its problems`);
    for (const rejected of result.rejected ?? []) {
      assert.ok(rejected.problems.some((problem) => problem.severity === 'error'), `a rejected file says why: ${JSON.stringify(rejected)}`);
    }
    problems += result.problems.length;
    loaded += result.vms.length;
  }
  assert.ok(rounds >= 50, `only ${rounds} rounds ran in time`);
  t.diagnostic(`${rounds} rounds, ${problems} problems reported, ${loaded} VMs loaded`);
});

test('hostile files as a config, an included file or a bhyve config (FIFOs, links, devices, too large, binary, nested too deep): each VM is rejected with a problem, the others load', { timeout: 60_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmstated-config-hostile-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const random = seededRandom(SEED + 1);
  const rom = ensureSimBootrom(path.join(dir, '.sim'));
  const vm = (name: string, config = `${name} { configfile = bhyve_config; }\n`, bhyve = `hostbridge=hostbridge\n${bootromKey() ?? 'lpc.bootrom'}=${rom}\n`): string => {
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, name, 'config'), config);
    fs.writeFileSync(path.join(dir, name, 'bhyve_config'), bhyve);
    return path.join(dir, name);
  };
  vm('fine');
  const hostile: string[] = [];
  for (const [index, shape] of SPECIAL_SHAPES.entries()) {
    writeSpecial(path.join(vm(`config${index}`), 'config'), shape, MAX_CONFIG_BYTES + 1);
    writeSpecial(path.join(vm(`bhyve${index}`), 'bhyve_config'), shape, MAX_CONFIG_BYTES + 1);
    const including = vm(`include${index}`, `include${index} { configfile = bhyve_config; }\n.include "$CURDIR/part"\n`);
    writeSpecial(path.join(including, 'part'), shape, MAX_CONFIG_BYTES + 1);
    hostile.push(`config${index}`, `bhyve${index}`, `include${index}`);
  }
  const noise = (): string => Buffer.from(Array.from({ length: 4096 }, () => Math.floor(random() * 256))).toString('latin1');
  vm('binary', noise());
  vm('binarybhyve', undefined, noise());
  vm('deep', `deep { configfile = bhyve_config; ${'a { '.repeat(100_000)}`);
  vm('loaded', 'loaded { configfile = bhyve_config; .load(key="x") "/dev/zero" }\n');
  hostile.push('binary', 'binarybhyve', 'deep', 'loaded');

  const result = await loadConfigDir(dir);
  assert.deepEqual(result.vms.map((loaded) => loaded.name), ['fine']);
  const rejected = new Map((result.rejected ?? []).map((r) => [path.basename(path.dirname(r.file)), r.problems]));
  for (const name of hostile) {
    const problems = rejected.get(name) ?? [];
    assert.ok(problems.some((p) => p.severity === 'error' && p.kind.length > 0 && p.message.length > 0), `${name}: ${JSON.stringify(problems)}`);
  }
});
