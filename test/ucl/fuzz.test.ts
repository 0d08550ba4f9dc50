/**
 * Fuzzing with a seeded PRNG: mutated conformance inputs, grammar-heavy noise
 * and random code points. Whatever the input, only UclError may escape, and
 * every parse ends (a generous bound catches hangs; speed is the benchmark's job).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { UclError, parseUcl, toTyped } from '../../src/ucl/index.js';
import { conformanceDir } from './helpers.js';
import { seededRandom } from '../helpers/random.js';

const GRAMMAR = ['{', '}', '[', ']', '"', "'", '\\', '$', '${', '=', ':', ';', ',', '\n', ' ', '#', '/*', '*/',
  '<<EOD\n', '\nEOD\n', '.include ', '.priority ', '.inherit ', '(', ')', '0x', '1', '-', '.', 'e', 'k', 'ms', 'min', 'a',
  'true', 'null', '\\u', '\u00e9', '\0', '\r'];

const HANG_BOUND_MS = 2000;
const basicDir = path.join(conformanceDir(), 'basic');

function parseChecked(text: string, filename: string): void {
  const started = process.hrtime.bigint();
  try {
    toTyped(parseUcl(text, { filename, lowercaseKeys: true, variables: { ABI: 'unknown' } }));
  } catch (e) {
    if (!(e instanceof UclError)) assert.fail(`non-UclError ${String(e)} for input ${JSON.stringify(text.slice(0, 200))}`);
    assert.ok(Number.isInteger(e.line) && Number.isInteger(e.column));
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.ok(ms < HANG_BOUND_MS, `parse took ${ms} ms for ${JSON.stringify(text.slice(0, 200))}`);
}

function mutate(text: string, random: () => number): string {
  let out = text;
  const edits = 1 + Math.floor(random() * 4);
  for (let k = 0; k < edits; k++) {
    const at = Math.floor(random() * (out.length + 1));
    const roll = random();
    if (roll < 0.35) {
      out = out.slice(0, at) + GRAMMAR[Math.floor(random() * GRAMMAR.length)] + out.slice(at);
    } else if (roll < 0.65) {
      out = out.slice(0, at) + out.slice(at + 1 + Math.floor(random() * 8));
    } else if (roll < 0.85) {
      out = out.slice(0, at) + String.fromCharCode(Math.floor(random() * 128)) + out.slice(at + 1);
    } else {
      const from = Math.floor(random() * out.length);
      out = out.slice(0, at) + out.slice(from, from + 20) + out.slice(at);
    }
  }
  return out;
}

test('mutated conformance inputs raise nothing but UclError', () => {
  const random = seededRandom(0x5eed);
  const inputs = fs.readdirSync(basicDir).filter((name) => name.endsWith('.in')).sort();
  for (const name of inputs) {
    const text = new TextDecoder().decode(fs.readFileSync(path.join(basicDir, name)));
    for (let n = 0; n < 60; n++) parseChecked(mutate(text, random), path.join(basicDir, name));
  }
});

test('grammar-heavy noise raises nothing but UclError', () => {
  const random = seededRandom(42);
  for (let n = 0; n < 1500; n++) {
    let text = '';
    const pieces = Math.floor(random() * 60);
    for (let k = 0; k < pieces; k++) text += GRAMMAR[Math.floor(random() * GRAMMAR.length)];
    parseChecked(text, '/nonexistent/fuzz.conf');
  }
});

test('random code points raise nothing but UclError', () => {
  const random = seededRandom(7);
  for (let n = 0; n < 800; n++) {
    const length = Math.floor(random() * 200);
    let text = '';
    for (let k = 0; k < length; k++) {
      text += String.fromCharCode(random() < 0.9 ? Math.floor(random() * 128) : Math.floor(random() * 0xffff));
    }
    parseChecked(text, '/nonexistent/fuzz.conf');
  }
});

test('pathological inputs stay linear: long key runs, ${ floods, huge digit runs', () => {
  const inputs = [
    'a '.repeat(900) + 'x'.repeat(200000) + ' { }',
    'a = "' + '${'.repeat(200000) + '}"',
    'a = ' + '1'.repeat(200000),
    'a = 0x' + 'f'.repeat(200000),
    'a = 1.' + '1'.repeat(200000),
    '/*'.repeat(100000),
    'a = <<EOD\n' + 'x\n'.repeat(100000),
    '#'.repeat(200000),
    'a = "' + '\\u0041'.repeat(50000) + '"',
  ];
  for (const text of inputs) parseChecked(text, '/nonexistent/fuzz.conf');
});
