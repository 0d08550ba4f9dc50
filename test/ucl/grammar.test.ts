/** One small case per grammar feature, each with the result libucl 0.9 gives. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UclError, formatG17, parseUcl, parseUclValue, toTyped, type TypedNode, type UclParseOptions } from '../../src/ucl/index.js';
import { arr, b, f, i, imp, nul, obj, s, tm, typed, typedEqual } from './helpers.js';

function check(text: string, expected: TypedNode, options: UclParseOptions = {}): void {
  const got = typed(text, options);
  if (!typedEqual(got, expected)) assert.deepEqual(got, expected, `for input ${JSON.stringify(text)}`);
}

test('comments: #, nested /* */, quotes inside comments', () => {
  check('# a\na = 1 # b\n/* c /* nested */ still */ b = 2', obj(['a', i(1)], ['b', i(2)]));
  check('/***/ a = 1', obj(['a', i(1)]));
  check('/* "*/" */ a = 1', obj(['a', i(1)]));
});

test('unquoted values end at ; , newline ] } # and /*, trailing blanks trimmed', () => {
  check('a = hello world ;\nb = x # c\nc = y /* z */\nd = some[]value\ne = p{q}r;', obj(
    ['a', s('hello world')], ['b', s('x')], ['c', s('y')], ['d', s('some[]value')], ['e', s('p{q}r')]));
  check('a: b, c: d', obj(['a', s('b')], ['c', s('d')]));
  check('path = /usr/local/bin', obj(['path', s('/usr/local/bin')]));
});

test('double-quoted strings: escapes and \\u', () => {
  check('a = "x\\ty\\n\\"q\\" \\u00e9\\u20AC \\/"', obj(['a', s('x\ty\n"q" é€ /')]));
  check('a = "\\uD83D\\uDE00"', obj(['a', s('😀')]));
  check('a = ""', obj(['a', s('')]));
});

test("single-quoted strings keep backslashes except \\' and backslash-newline", () => {
  check("a = 'x\\ny'; b = 'it\\'s'; c = 'a\\\nb'", obj(['a', s('x\\ny')], ['b', s("it's")], ['c', s('ab')]));
});

test('heredocs', () => {
  check('a = <<EOD\nline1\n  line2\nEOD\nb = 1', obj(['a', s('line1\n  line2')], ['b', i(1)]));
  check('a = <<EOD\nx\nEOD;', obj(['a', s('x')]));
  check('a = <<eod\n', obj(['a', s('<<eod')]));
});

test('integers, floats and hex', () => {
  check('a = 42; b = -7; c = 1.5; d = -1e-3; e = 0x1F; f = -0x10; g = 1.0', obj(
    ['a', i(42)], ['b', i(-7)], ['c', f(1.5)], ['d', f(-0.001)], ['e', i(31)], ['f', i(-16)], ['g', f(1)]));
  check('a = 0x1F.5; b = 1.2.3; c = 12 apples; d = 12   ;', obj(
    ['a', s('0x1F.5')], ['b', s('1.2.3')], ['c', s('12 apples')], ['d', i(12)]));
});

test('size suffixes: k m g are powers of 1000, kb mb gb powers of 1024', () => {
  check('a = 1k; b = 5M; c = 4G; d = 1kb; e = 2mb; f = 1GB; g = 1.5k; h = 1.5kb', obj(
    ['a', i(1000)], ['b', i(5000000)], ['c', i(4000000000)], ['d', i(1024)], ['e', i(2097152)],
    ['f', i(1073741824)], ['g', f(1500)], ['h', i(1024)]));
  check('memory = 4G', obj(['memory', i(4000000000)]));
});

test('time suffixes: ms s min h d w y', () => {
  check('a = 500ms; b = 10s; c = 2min; d = 1h; e = 1d; f = 1w; g = 1y; h = 1.5s', obj(
    ['a', tm(0.5)], ['b', tm(10)], ['c', tm(120)], ['d', tm(3600)], ['e', tm(86400)], ['f', tm(604800)],
    ['g', tm(31536000)], ['h', tm(1.5)]));
});

test('a suffix only counts before a value end: 10s; is a time, 10s } is a string', () => {
  check('x { a = 10s; }', obj(['x', obj(['a', tm(10)])]));
  check('x { a = 10s }', obj(['x', obj(['a', s('10s')])]));
  check('x { m = 4G }', obj(['x', obj(['m', s('4G')])]));
  check('x = [10s, 4k]', obj(['x', arr(tm(10), i(4000))]));
  check('a = 0x10s;', obj(['a', i(16)]));
});

// libucl's ucl_maybe_parse_number (src/ucl_parser.c; the same in vstakhov/libucl and FreeBSD's
// contrib/libucl): a suffix of two or three letters (kb mb gb, ms ks gs, min) is taken whatever
// follows it, and the parser then wants a separator (spaces are skipped); a one-letter suffix
// (k m g, s h d w y) counts only when a value end (, ; newline ] } #) follows at once, else the
// whole atom is a string; a bare number may be followed by blanks and then a value end.
test('what may follow a suffix: two-letter suffixes whatever follows, one-letter ones only a value end', () => {
  check('x { c = 4kb , b = 3 , d = 4k , e = 4k, f = 10min , g = 4ms , h = 10s , i = 10s, }', obj(['x', obj(
    ['c', i(4096)], ['b', i(3)], ['d', s('4k')], ['e', i(4000)], ['f', tm(600)], ['g', tm(0.004)], ['h', s('10s')], ['i', tm(10)])]));
  assert.throws(() => parseUcl('a = 4kbx;'), UclError, 'after a two-letter suffix comes a separator, not more text');
});

test('booleans (any case), null, nan and inf', () => {
  check('a = true; b = FALSE; c = yes; d = No; e = on; f = off; g = null; h = Null', obj(
    ['a', b(true)], ['b', b(false)], ['c', b(true)], ['d', b(false)], ['e', b(true)], ['f', b(false)],
    ['g', nul], ['h', s('Null')]));
  const got = toTyped(parseUcl('a = nan; b = inf'));
  assert.deepEqual(got, obj(['a', { t: 'float', v: 'nan' }], ['b', { t: 'float', v: 'inf' }]));
});

test('objects, arrays, trailing commas, and = or : or nothing between key and value', () => {
  check('a { b = 1; c: [1, 2, ]; d [] }\ne "x"', obj(
    ['a', obj(['b', i(1)], ['c', arr(i(1), i(2))], ['d', arr()])], ['e', s('x')]));
});

test('JSON input', () => {
  check('{"a": [1, 2.5, {"b": null}], "c": true, "d": "x"}', obj(
    ['a', arr(i(1), f(2.5), obj(['b', nul]))], ['c', b(true)], ['d', s('x')]));
  assert.deepEqual(toTyped(parseUclValue('[1, "a"]')), arr(i(1), s('a')));
});

test('named sections nest: vm "a" { } is vm { a { } }, and repeats make implicit arrays', () => {
  check('vm "a" { cpus = 2 }\nvm "b" { cpus = 4 }', obj(['vm', imp(
    obj(['a', obj(['cpus', i(2)])]),
    obj(['b', obj(['cpus', i(4)])]))]));
  check('a b c { d = 1 } e = 2', obj(['a', obj(['b', obj(['c', obj(['d', i(1)])])])], ['e', i(2)]));
});

test('a repeated key becomes an implicit array; objects are not merged', () => {
  check('k = 1; k = "two"; o { a = 1 } o { b = 2 }', obj(
    ['k', imp(i(1), s('two'))], ['o', imp(obj(['a', i(1)]), obj(['b', i(2)]))]));
});

test('keys: quoted keys, lowercasing, odd characters', () => {
  check('"Key with spaces" = 1; Mixed-Case_Key.x = 2', obj(['Key with spaces', i(1)], ['Mixed-Case_Key.x', i(2)]));
  check('Mixed = 1; mixed = 2', obj(['mixed', imp(i(1), i(2))]), { lowercaseKeys: true });
});

test('variables: $VAR, ${VAR}, unknown ones stay, $$ is a dollar only when something expands', () => {
  const variables = { NAME: 'web', DIR: '/d' };
  check('a = "$NAME-x"; b = ${NAME}; c = "$NOPE"; d = "$$NAME"; e = "$NAME$$"; f = \'$NAME\'; g = $DIR/x', obj(
    ['a', s('web-x')], ['b', s('web')], ['c', s('$NOPE')], ['d', s('$$NAME')], ['e', s('web$')], ['f', s('$NAME')],
    ['g', s('/d/x')]), { variables });
  // a name is matched as a prefix: $NAMEs expands $NAME
  check('a = "$NAMEs"', obj(['a', s('webs')]), { variables });
  check('a = "${NAME}x${NOPE}"', obj(['a', s('webx${NOPE}')]), { variables });
});

test('$FILENAME and $CURDIR come from the filename option', () => {
  check('f = $FILENAME; d = $CURDIR', obj(['f', s('/nonexistent/dir/vm.conf')], ['d', s('/nonexistent/dir')]), { filename: '/nonexistent/dir/vm.conf' });
  check('f = $FILENAME', obj(['f', s('undef')]));
});

test('a key with nothing after = at the end of a line is null', () => {
  check('a =\n', obj(['a', nul]));
});

test('anything after the closing brace of a braced document is ignored', () => {
  check('{ a = 1 } this is ignored', obj(['a', i(1)]));
});

test('an empty or comment-only document is an empty object', () => {
  check('', obj());
  check('# nothing\n', obj());
});

test('nodes keep raw text, positions and key positions', () => {
  const doc = parseUcl('web {\n  memory = 4G;\n  name = "x y";\n}\n', { filename: 'vm.conf' });
  const web = doc.value.get('web');
  assert.ok(web && web.type === 'object');
  const memory = web.value.get('memory');
  assert.ok(memory && memory.type === 'int');
  assert.equal(memory.value, 4000000000n);
  assert.equal(memory.raw, '4G');
  assert.deepEqual([memory.line, memory.column, memory.file], [2, 12, 'vm.conf']);
  assert.deepEqual(memory.key, { name: 'memory', line: 2, column: 3 });
  const name = web.value.get('name');
  assert.ok(name && name.type === 'string');
  assert.equal(name.raw, '"x y"');
  assert.deepEqual(web.key, { name: 'web', line: 1, column: 1 });
});

test('floats and times print like C\'s %.17g in the typed form', () => {
  const cases: [number, string][] = [
    [1, '1'], [0.1, '0.10000000000000001'], [123.2, '123.2'], [-1e-10, '-1e-10'], [1e20, '1e+20'],
    [1e16, '10000000000000000'], [0.0001, '0.0001'], [0.00001, '1.0000000000000001e-05'], [NaN, 'nan'],
    [-Infinity, '-inf'], [-0, '-0'],
  ];
  for (const [value, text] of cases) assert.equal(formatG17(value), text);
});

test('a document may be an array when read with parseUclValue; parseUcl wants an object', () => {
  assert.throws(() => parseUcl('[1]'), UclError);
});
