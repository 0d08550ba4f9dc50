/** The parser is published as the package subpath `vmstated/ucl`, for programs other than ours. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { repoRoot } from './helpers.js';

test('"vmstated/ucl" resolves through the package exports and parses a VM config', () => {
  const program = `
    const { parseUcl, toTyped, UclError } = await import('vmstated/ucl');
    const root = parseUcl('web { memory = 4G; cpus = 2; }');
    const web = root.value.get('web');
    let error = null;
    try { parseUcl('web {'); } catch (e) { error = e instanceof UclError ? e.line + ':' + e.column : String(e); }
    console.log(JSON.stringify({ typed: toTyped(root), raw: web.value.get('memory').raw, error }));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', program], { cwd: repoRoot, encoding: 'utf8' });
  const result = JSON.parse(out);
  assert.deepEqual(result.typed, {
    t: 'object',
    v: [['web', { t: 'object', v: [['memory', { t: 'int', v: '4000000000' }], ['cpus', { t: 'int', v: '2' }]] }]],
  });
  assert.equal(result.raw, '4G');
  assert.match(result.error, /^1:\d+$/);
});
