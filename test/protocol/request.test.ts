import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  COMMANDS,
  VM_COMMANDS,
  errorReply,
  framingErrorReply,
  okReply,
  okReplyEncoded,
  parseRequest,
} from '../../src/protocol/request.js';
import { encodeLine } from '../../src/protocol/framing.js';
import type { ErrorCode } from '../../src/protocol/types.js';

function rejects(line: string, code: ErrorCode, id: string | number | null, ...fragments: string[]): void {
  const parsed = parseRequest(line);
  assert.equal(parsed.ok, false, `${line} must be rejected`);
  if (parsed.ok) return;
  assert.equal(parsed.reply.v, 1);
  assert.equal(parsed.reply.ok, false);
  assert.equal(parsed.reply.id, id);
  assert.equal(parsed.reply.error.code, code);
  for (const fragment of fragments) {
    assert.ok(parsed.reply.error.message.includes(fragment), `"${parsed.reply.error.message}" should mention ${fragment}`);
  }
}

function accepts(line: string): ReturnType<typeof parseRequest> & { ok: true } {
  const parsed = parseRequest(line);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reply.error.message);
  return parsed;
}

test('valid requests parse, args default to an empty object', () => {
  assert.deepEqual(accepts('{"v":1,"id":7,"cmd":"status"}').request, { v: 1, id: 7, cmd: 'status', args: {} });
  assert.deepEqual(accepts('{"v":1,"id":"x","cmd":"start","args":{"vm":"web"}}').request.args, { vm: 'web' });
  assert.deepEqual(accepts('{"v":1,"id":0,"cmd":"logs","args":{"vm":"db","n":50,"follow":true}}').request.args, {
    vm: 'db',
    n: 50,
    follow: true,
  });
  assert.deepEqual(accepts('{"v":1,"id":1.5,"cmd":"shutdown","args":{"keepVms":true}}').request.args, { keepVms: true });
  accepts('{"v":1,"id":"","cmd":"reload","args":{}}');
  accepts('{"v":1,"id":2,"cmd":"events"}');
  accepts('{"v":1,"id":3,"cmd":"stop","args":{"vm":"web","wait":false}}');
});

test('every command of the contract is known; VM commands need a vm', () => {
  assert.deepEqual(
    [...COMMANDS].sort(),
    ['console', 'console-input', 'events', 'failreset', 'logs', 'metrics', 'problems', 'reload', 'restart', 'shutdown', 'start', 'status', 'stop', 'top'],
  );
  assert.deepEqual([...VM_COMMANDS].sort(), ['console', 'failreset', 'logs', 'restart', 'start', 'stop']);
  for (const cmd of VM_COMMANDS) rejects(`{"v":1,"id":1,"cmd":"${cmd}"}`, 'BAD_REQUEST', 1, `request 1 (${cmd})`, 'missing argument "vm"');
});

test('a line that is not JSON, or not an object', () => {
  rejects('{"v":1,', 'BAD_REQUEST', null, 'request', 'not valid JSON');
  rejects('[1,2]', 'BAD_REQUEST', null, 'must be a JSON object, not an array');
  rejects('null', 'BAD_REQUEST', null, 'not null');
  rejects('"status"', 'BAD_REQUEST', null, 'not a string');
});

test('a missing or invalid id', () => {
  rejects('{"v":1,"cmd":"status"}', 'BAD_REQUEST', null, 'request (status)', 'has no "id"');
  rejects('{"v":1,"id":null,"cmd":"status"}', 'BAD_REQUEST', null, 'invalid "id" (null)');
  rejects('{"v":1,"id":{"a":1},"cmd":"status"}', 'BAD_REQUEST', null, 'invalid "id" (a object)');
  rejects('{"v":1,"id":[1],"cmd":"status"}', 'BAD_REQUEST', null, 'invalid "id" (an array)');
  rejects('{"v":1,"id":true,"cmd":"status"}', 'BAD_REQUEST', null, 'invalid "id" (a boolean)');
  rejects(`{"v":1,"id":"${'i'.repeat(257)}","cmd":"status"}`, 'BAD_REQUEST', null, 'longer than 256');
  rejects('{"v":1,"id":1e400,"cmd":"status"}', 'BAD_REQUEST', null, 'finite number');
});

test('a missing or wrong protocol version names the request', () => {
  rejects('{"id":4,"cmd":"status"}', 'BAD_REQUEST', 4, 'request 4 (status)', '"v" 1 expected, it is missing');
  rejects('{"v":2,"id":"a","cmd":"status"}', 'BAD_REQUEST', 'a', 'request "a" (status)', 'got 2');
  rejects('{"v":"1","id":5,"cmd":"status"}', 'BAD_REQUEST', 5, 'got "1"');
});

test('a missing, non-string or unknown command', () => {
  rejects('{"v":1,"id":6}', 'BAD_REQUEST', 6, 'request 6 has no "cmd"');
  rejects('{"v":1,"id":6,"cmd":3}', 'BAD_REQUEST', 6, '"cmd" that is a number');
  rejects('{"v":1,"id":6,"cmd":"frobnicate"}', 'UNKNOWN_COMMAND', 6, 'request 6 (frobnicate)', 'unknown command', 'status, start');
  rejects('{"v":1,"id":6,"cmd":"toString"}', 'UNKNOWN_COMMAND', 6, 'unknown command');
});

test('args must be an object', () => {
  rejects('{"v":1,"id":8,"cmd":"status","args":["web"]}', 'BAD_REQUEST', 8, '"args" that is an array');
  rejects('{"v":1,"id":8,"cmd":"status","args":null}', 'BAD_REQUEST', 8, '"args" that is null');
  rejects('{"v":1,"id":8,"cmd":"status","args":"web"}', 'BAD_REQUEST', 8, '"args" that is a string');
});

test('per-command arguments are checked', () => {
  rejects('{"v":1,"id":9,"cmd":"start","args":{"vm":5}}', 'BAD_REQUEST', 9, 'request 9 (start)', '"vm" must be a string, not a number');
  rejects('{"v":1,"id":9,"cmd":"stop","args":{"vm":""}}', 'BAD_REQUEST', 9, '"vm" must not be empty');
  rejects('{"v":1,"id":9,"cmd":"status","args":{"vm":null}}', 'BAD_REQUEST', 9, '"vm" must be a string, not null');
  rejects('{"v":1,"id":9,"cmd":"logs","args":{"vm":"a","n":-1}}', 'BAD_REQUEST', 9, '"n" must be a whole number >= 0, not -1');
  rejects('{"v":1,"id":9,"cmd":"logs","args":{"vm":"a","n":2.5}}', 'BAD_REQUEST', 9, 'not 2.5');
  rejects('{"v":1,"id":9,"cmd":"logs","args":{"vm":"a","n":"10"}}', 'BAD_REQUEST', 9, 'not "10"');
  rejects('{"v":1,"id":9,"cmd":"logs","args":{"vm":"a","follow":"yes"}}', 'BAD_REQUEST', 9, '"follow" must be true or false');
  rejects('{"v":1,"id":9,"cmd":"shutdown","args":{"keepVms":1}}', 'BAD_REQUEST', 9, '"keepVms" must be true or false');
  rejects('{"v":1,"id":9,"cmd":"start","args":{"name":"web"}}', 'BAD_REQUEST', 9, 'unknown argument "name"', '"vm", "wait"');
  rejects('{"v":1,"id":9,"cmd":"reload","args":{"force":true}}', 'BAD_REQUEST', 9, 'unknown argument "force"', 'takes no arguments');
});

test('reply helpers build protocol replies', () => {
  assert.deepEqual(okReply(3, [1]), { v: 1, id: 3, ok: true, result: [1] });
  assert.deepEqual(errorReply('x', 'NOT_FOUND', 'no VM "a"'), {
    v: 1,
    id: 'x',
    ok: false,
    error: { code: 'NOT_FOUND', message: 'no VM "a"' },
  });
  const framing = framingErrorReply('the line is not valid UTF-8');
  assert.equal(framing.id, null);
  assert.equal(framing.error.code, 'BAD_REQUEST');
  assert.match(framing.error.message, /not valid UTF-8/);
});

test('a reply with a pre-encoded result is the same line as one encoded whole', () => {
  const result = [{ name: 'web', state: 'running', description: 'line\nbreak "quoted" é' }, { name: 'db', lastExit: null }];
  for (const id of [0, 42, 'req-1', 'a\n"b"\u2028', null]) {
    assert.equal(encodeLine(okReplyEncoded(id, JSON.stringify(result))), encodeLine(okReply(id, result)));
  }
});
