/** .include and its options, .try_include, .priority, .inherit and .load, on real files in a temporary directory. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { UclError, parseUclFile, toTyped, type TypedNode } from '../../src/ucl/index.js';
import { arr, i, imp, obj, s, typedEqual } from './helpers.js';
import { tempDir } from './helpers.js';

const dir = tempDir('ucl-macros-');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let counter = 0;
/** Writes the given files (name -> text) into a fresh subdirectory and parses main.conf. */
function run(files: Record<string, string>): TypedNode {
  const sub = path.join(dir, `case${counter++}`);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(sub, name)), { recursive: true });
    fs.writeFileSync(path.join(sub, name), text);
  }
  return toTyped(parseUclFile(path.join(sub, 'main.conf')));
}

function check(files: Record<string, string>, expected: TypedNode): void {
  const got = run(files);
  if (!typedEqual(got, expected)) assert.deepEqual(got, expected);
}

test('.include reads a file in place; $CURDIR is the including file\'s directory', () => {
  check({ 'main.conf': 'a = 1\n.include "$CURDIR/inc.conf"\nc = 3\n', 'inc.conf': 'b = 2\n' },
    obj(['a', i(1)], ['b', i(2)], ['c', i(3)]));
});

test('an included file may be wrapped in braces', () => {
  check({ 'main.conf': 'x { .include "$CURDIR/inc.conf" }\ny = 1', 'inc.conf': '{ a = 1 }' },
    obj(['x', obj(['a', i(1)])], ['y', i(1)]));
});

test('values from an included file remember that file', () => {
  const sub = path.join(dir, 'files');
  fs.mkdirSync(sub);
  fs.writeFileSync(path.join(sub, 'main.conf'), '.include "$CURDIR/inc.conf"\n');
  fs.writeFileSync(path.join(sub, 'inc.conf'), '\n  b = 2\n');
  const doc = parseUclFile(path.join(sub, 'main.conf'));
  const node = doc.value.get('b');
  assert.deepEqual([node?.file, node?.line, node?.column], [path.join(sub, 'inc.conf'), 2, 7]);
});

test('.include(try=true) of a missing file goes on', () => {
  check({ 'main.conf': 'a = 1\n.include(try=true) "$CURDIR/missing.conf"\nb = 2\n' }, obj(['a', i(1)], ['b', i(2)]));
});

test('.try_include of a missing file ends parsing quietly, keeping what was read (as libucl does)', () => {
  check({ 'main.conf': 'a = 1\n.try_include "$CURDIR/missing.conf"\nb = 2\n' }, obj(['a', i(1)]));
});

test('.include of a missing file is an error', () => {
  assert.throws(() => run({ 'main.conf': '.include "$CURDIR/missing.conf"\n' }), UclError);
});

test('a file that includes itself is refused, and include loops are bounded', () => {
  assert.throws(() => run({ 'main.conf': '.include "$FILENAME"\n' }), /includes itself/);
  assert.throws(() => run({ 'main.conf': '.include "$CURDIR/a.conf"\n', 'a.conf': '.include "$CURDIR/main.conf"\n' }),
    /includes nest too deeply/);
});

test('priorities: a higher priority replaces, a lower one is dropped, an equal one appends', () => {
  check({
    'main.conf': 'a = 1\n.include(priority=2) "$CURDIR/high.conf"\na = 3\nb = 1\n.include(priority=0) "$CURDIR/same.conf"\n',
    'high.conf': 'a = 2\n',
    'same.conf': 'b = 2\n',
  }, obj(['a', i(2)], ['b', imp(i(1), i(2))]));
});

test('.priority sets the priority of what follows in the same file', () => {
  check({ 'main.conf': 'a = 1\n.priority 1\na = 2\n.priority 0\na = 3\n' }, obj(['a', i(2)]));
});

test('duplicate = append, merge, rewrite and error', () => {
  const inc = 'o { y = 2 }\nl = [2]\nv = 2\n';
  const base = 'o { x = 1 }\nl = [1]\nv = 1\n';
  check({ 'main.conf': `${base}.include(duplicate="append") "$CURDIR/inc.conf"`, 'inc.conf': inc },
    obj(['o', imp(obj(['x', i(1)]), obj(['y', i(2)]))], ['l', imp(arr(i(1)), arr(i(2)))], ['v', imp(i(1), i(2))]));
  check({ 'main.conf': `${base}.include(duplicate="merge") "$CURDIR/inc.conf"`, 'inc.conf': inc },
    obj(['o', obj(['x', i(1)], ['y', i(2)])], ['l', arr(i(1), i(2))], ['v', imp(i(1), i(2))]));
  check({ 'main.conf': `${base}.include(duplicate="rewrite") "$CURDIR/inc.conf"`, 'inc.conf': inc },
    obj(['o', obj(['y', i(2)])], ['l', arr(i(2))], ['v', i(2)]));
  assert.throws(() => run({ 'main.conf': `${base}.include(duplicate="error") "$CURDIR/inc.conf"`, 'inc.conf': inc }),
    /duplicate key "o"/);
});

test('key, prefix and target put an included file under a key', () => {
  check({
    'main.conf': '.include(key="k") "$CURDIR/inc.conf"\n.include(key="k") "$CURDIR/inc.conf"\n'
      + '.include(prefix=true) "$CURDIR/inc.conf"\n.include(key="list", target="array") "$CURDIR/inc.conf"\n',
    'inc.conf': 'a = 1\n',
  }, obj(['k', obj(['a', imp(i(1), i(1))])], ['inc', obj(['a', i(1)])], ['list', arr(obj(['a', i(1)]))]));
});

test('glob includes read matching files in sorted order; no match is an error unless try=true', () => {
  check({
    'main.conf': '.include(glob=true) "$CURDIR/vm.d/*.conf"\n.include(glob=true, try=true) "$CURDIR/none/*.conf"\n',
    'vm.d/b.conf': 'n = b\n', 'vm.d/a.conf': 'n = a\n', 'vm.d/skip.txt': 'n = skip\n', 'vm.d/.hidden.conf': 'n = h\n',
  }, obj(['n', imp(s('a'), s('b'))]));
  assert.throws(() => run({ 'main.conf': '.include(glob=true) "$CURDIR/none/*.conf"\n' }), /no file matches/);
});

test('.inherit copies keys the object does not have; its own keys win', () => {
  check({ 'main.conf': 'defaults { cpus = 1; memory = 512M; }\nweb { .inherit "defaults"; cpus = 2 }\n' },
    obj(['defaults', obj(['cpus', i(1)], ['memory', i(512000000)])], ['web', obj(['cpus', i(2)], ['memory', i(512000000)])]));
});

test('.load reads a file into a string or an int', () => {
  check({
    'main.conf': '.load(key="s") "$CURDIR/v.txt"\n.load(key="t", trim=true) "$CURDIR/v.txt"\n'
      + '.load(key="n", target="int") "$CURDIR/v.txt"\n.load(key="m", try=true) "$CURDIR/missing"\n',
    'v.txt': '  42\n',
  }, obj(['s', s('  42\n')], ['t', s('42')], ['n', i(42)]));
  assert.throws(() => run({ 'main.conf': '.load "$CURDIR/main.conf"\n' }), /needs a key/);
});
