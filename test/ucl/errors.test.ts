/** Broken inputs: each must fail with a UclError at an exact line and column, in words a person understands. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { UclError, parseUcl, parseUclFile } from '../../src/ucl/index.js';
import { tempDir } from './helpers.js';

const cases: [input: string, line: number, column: number, message: RegExp][] = [
  ['web { memory = }', 1, 16, /^unexpected '\}' \(missing value for key "memory"\)$/],
  ['web {\n  memory =\n}', 3, 1, /unexpected '\}' \(missing value for key "memory"\)/],
  ['a = 1\nb = "x', 2, 5, /quoted string is never closed/],
  ['a {\n  b = 1\n', 1, 3, /'\{' is never closed/],
  ['a = [1, 2', 1, 5, /'\[' is never closed/],
  ['a = 1 }', 1, 7, /unexpected '\}' \(no matching '\{'\)/],
  ['a = 1;\n  }', 2, 3, /no matching/],
  ['key\n', 1, 4, /missing value for key "key"/],
  ['key', 1, 4, /missing value for key "key"/],
  ['a = [1, 2}', 1, 10, /unexpected '\}' \(expected '\]'/],
  ['a = "x" b = 2', 1, 9, /unexpected 'b' after a value \(missing ';' or newline\?\)/],
  ['/* open', 1, 1, /comment '\/\*' is never closed/],
  ['a = 1\n/* x /* y */', 2, 1, /never closed/],
  ['a = "\\uZZ"', 1, 8, /invalid \\u escape/],
  ['= 1', 1, 1, /a key cannot start with '='/],
  ['a = 99999999999999999999', 1, 5, /number out of range/],
  ['.foo "x"', 1, 1, /unknown macro '\.foo'/],
  ['a = <<EOD\nxx\n', 1, 5, /heredoc is never closed/],
  ['ke!y = 1', 1, 3, /invalid character '!' in key "ke"/],
  ['a = "tab\there"', 1, 9, /control character 0x09 inside a quoted string/],
  ["a = 'x", 1, 5, /single-quoted string is never closed/],
  ['"" = 1', 1, 1, /empty keys are not allowed/],
  ['a == 1', 1, 4, /unexpected '=' after key "a"/],
  ['a { b = 1 ]', 1, 11, /unexpected '\]' \(expected '\}'/],
  ['.priority x', 1, 1, /invalid priority "x"/],
  ['.inherit "nothing"', 1, 1, /cannot inherit from "nothing"/],
  ['a = [,]', 1, 6, /unexpected ',' \(missing value\)/],
];

for (const [input, line, column, message] of cases) {
  test(`error at ${line}:${column} for ${JSON.stringify(input)}`, () => {
    assert.throws(() => parseUcl(input, { filename: 'vm.conf' }), (e: unknown) => {
      assert.ok(e instanceof UclError, `not a UclError: ${String(e)}`);
      assert.match(e.message, message);
      assert.deepEqual([e.file, e.line, e.column], ['vm.conf', line, column]);
      assert.equal(e.describe(), `vm.conf:${line}:${column}: ${e.message}`);
      return true;
    });
  });
}

test('an error inside an included file names that file and its position', (t) => {
  const dir = tempDir('ucl-errors-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'inner.conf'), 'ok = 1\nbad = "x\n');
  fs.writeFileSync(path.join(dir, 'main.conf'), 'a = 1\n.include "$CURDIR/inner.conf"\n');
  assert.throws(() => parseUclFile(path.join(dir, 'main.conf')), (e: unknown) => {
    assert.ok(e instanceof UclError);
    assert.deepEqual([e.file, e.line, e.column], [path.join(dir, 'inner.conf'), 2, 9]);
    assert.match(e.message, /newline inside a quoted string/);
    return true;
  });
});

test('a missing file is a UclError naming the file', () => {
  assert.throws(() => parseUclFile('/nonexistent/vm.conf'), (e: unknown) =>
    e instanceof UclError && e.file === '/nonexistent/vm.conf' && /cannot read \/nonexistent\/vm.conf: does not exist/.test(e.message));
});

test('a missing include names the file and the position of the macro', () => {
  assert.throws(() => parseUcl('a = 1\n  .include "/nonexistent/x.conf"\n', { filename: 'vm.conf' }), (e: unknown) =>
    e instanceof UclError && e.line === 2 && e.column === 3 && /cannot open included file \/nonexistent\/x.conf: no such file/.test(e.message));
});

test('absurdly deep nesting is refused with a UclError, not a crash', () => {
  for (const input of ['a = ' + '['.repeat(100000), 'a ' + '{ b '.repeat(5000), 'k '.repeat(3000) + '{ }']) {
    assert.throws(() => parseUcl(input), (e: unknown) => e instanceof UclError && /nest too deeply/.test(e.message));
  }
});
