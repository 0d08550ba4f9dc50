/**
 * README's install path, as a host without a checkout gets it: `npm pack` in the checkout (with
 * --ignore-scripts here: `npm test` has just built dist/, and a rebuild would rewrite it under the
 * tests running beside this one), `npm install -g` of the tarball into a temporary prefix, then
 * vmstated -n, vmstatedctl --help and install-system.sh, run from that prefix.
 *
 * The install takes the dependencies' tarballs from npm's cache (`npm ci` filled it); npm still
 * asks the registry which versions match, as every install of a tarball does. Where the registry
 * cannot be reached the test is skipped with the reason, except in CI (CI set), which has just
 * run `npm ci` against it: there it fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../helpers/paths.js';
import { runProgram } from '../helpers/run.js';
import { tempDir } from '../helpers/temp-dir.js';

const NO_REGISTRY = /ENOTCACHED|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH/;

test('npm pack, npm install -g of the tarball: vmstated -n, vmstatedctl --help and install-system.sh run from the installed package', { timeout: 240_000 }, async (t) => {
  const dir = tempDir(t);
  const npm = (args: string[], cwd: string) => runProgram('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, timeoutMs: 180_000 });

  const pack = await npm(['pack', '--ignore-scripts', '--pack-destination', dir], PROJECT_ROOT);
  assert.equal(pack.status, 0, pack.stderr);
  const { version } = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(pack.stdout.trim().split('\n').at(-1), `vmstated-${version}.tgz`);

  const prefix = path.join(dir, 'prefix');
  const install = await npm(['install', '-g', '--prefix', prefix, '--prefer-offline', `./vmstated-${version}.tgz`], dir);
  if (install.status !== 0 && NO_REGISTRY.test(install.stderr)) {
    const why = `npm install -g of the tarball cannot reach the registry (${NO_REGISTRY.exec(install.stderr)![0]})`;
    if (process.env.CI) throw new Error(`${why}; CI has just run npm ci against it, so this is a failure\n${install.stderr}`);
    t.skip(`${why}: skipped`);
    return;
  }
  assert.equal(install.status, 0, install.stderr);

  const help = await runProgram(path.join(prefix, 'bin', 'vmstatedctl'), ['--help'], { cwd: '/' });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^\s+status\s/m);

  // The examples as installed, with a stand-in boot ROM (the demo's copy), checked by the installed vmstated.
  const root = (await npm(['root', '-g', '--prefix', prefix], dir)).stdout.trim();
  const pkg = path.join(root, 'vmstated');
  const { copyExamples } = (await import(pathToFileURL(path.join(pkg, 'dist/src/bhyvesim/demo-copy.js')).href)) as typeof import('../../src/bhyvesim/demo-copy.js');
  const { ensureSimBootrom } = (await import(pathToFileURL(path.join(pkg, 'dist/src/bhyvesim/paths.js')).href)) as typeof import('../../src/bhyvesim/paths.js');
  const examples = path.join(dir, 'examples');
  copyExamples(path.join(pkg, 'examples'), examples, ensureSimBootrom(path.join(dir, 'sim')));
  const check = await runProgram(path.join(prefix, 'bin', 'vmstated'), ['-n', '-c', examples], { cwd: '/' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stdout + check.stderr, /3 VMs ok, 0 rejected; 0 errors/);

  // README: sh "$(npm root -g)/vmstated/bin/install-system.sh", staged here with DESTDIR.
  const stage = path.join(dir, 'stage');
  const system = await runProgram('/bin/sh', [path.join(pkg, 'bin', 'install-system.sh')], { cwd: '/', env: { PATH: process.env.PATH, DESTDIR: stage } });
  assert.equal(system.status, 0, system.stderr);
  for (const file of ['etc/rc.d/vmstated', 'share/man/man8/vmstated.8', 'share/man/man1/vmstatedctl.1', 'share/vmstated/prometheus/vmstated.rules.yml']) {
    assert.ok(fs.existsSync(path.join(stage, 'usr/local', file)), file);
  }
});
