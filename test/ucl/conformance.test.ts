/**
 * libucl's own parser tests (shared/ucl-conformance/basic): every input, parsed
 * with the settings of libucl's test runner, must equal what libucl produced.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseUclFile, toTyped, type TypedNode } from '../../src/ucl/index.js';
import { conformanceDir, typedEqual } from './helpers.js';

const dir = conformanceDir();
const inputs = fs.readdirSync(path.join(dir, 'basic')).filter((name) => name.endsWith('.in')).sort();

test('the conformance suite is present and complete', () => {
  assert.equal(inputs.length, 26);
  // 14.in includes ./1.in, which must not resolve: the tests run from elsewhere
  assert.notEqual(path.resolve(process.cwd()), path.resolve(dir, 'basic'));
});

for (const input of inputs) {
  const name = input.slice(0, -'.in'.length);
  test(`conformance: ${name}`, () => {
    // expected files hold libucl's raw bytes; invalid UTF-8 decodes the same way on both sides
    const expected = JSON.parse(new TextDecoder().decode(fs.readFileSync(path.join(dir, 'expected', `${name}.typed.json`)))) as TypedNode;
    const got = toTyped(parseUclFile(path.join(dir, 'basic', input), { lowercaseKeys: true, variables: { ABI: 'unknown' } }));
    if (!typedEqual(got, expected)) {
      assert.deepEqual(got, expected);
      assert.fail('typed trees differ only in float values');
    }
  });
}
