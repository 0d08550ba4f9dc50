/** The console's small parts: who owns com1, the ring replayed on attach, the detach escapes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consoleMode } from '../../src/config/console-mode.js';
import { EscapeReader } from '../../src/cli/console-escape.js';
import { ByteRing } from '../../workers/console-ring.js';

test('com1 is vmstated\'s when its last setting is stdio or vmstated\'s own device; an admin\'s path is left to the admin', () => {
  assert.deepEqual(consoleMode('web', 'lpc.com1.path=/dev/nmdm0A\n#lpc.com1.path=x\nlpc.com1.path=stdio\n'), { kind: 'owned', device: '/dev/nmdm-vmstated-webB' });
  assert.deepEqual(consoleMode('web', 'lpc.com1.path=stdio\nname=web\nlpc.com1.path=/dev/nmdm-vmstated-webA\n'), { kind: 'owned', device: '/dev/nmdm-vmstated-webB' });
  const nmdm = consoleMode('web', 'lpc.com1.path=stdio\nlpc.com1.path=/dev/nmdm0A\n');
  assert.equal(nmdm.kind, 'foreign');
  assert.match(nmdm.kind === 'foreign' ? nmdm.why : '', /web's com1 is \/dev\/nmdm0A in its bhyve config, not stdio: use cu -l \/dev\/nmdm0B/);
  assert.match(JSON.stringify(consoleMode('web', 'lpc.com1.path=tcp=127.0.0.1:4321\n')), /connect to 127\.0\.0\.1:4321/);
  assert.equal(consoleMode('web', ' lpc.com1.path=stdio\n').kind, 'none', 'bhyve does not trim: a key with a blank is another key');
});

test('the ring keeps the last bytes, replays whole lines once it wrapped, and tails lines as tail(1) counts them', () => {
  const ring = new ByteRing(24);
  ring.push(Buffer.from('boot\nweb login: '));
  assert.equal(ring.contents().toString(), 'boot\nweb login: ');
  assert.equal(ring.tail(1).toString(), 'web login: ', 'an unfinished last line counts');
  assert.equal(ring.tail(0).toString(), '');
  ring.push(Buffer.from('root\r\nok\n'));
  assert.equal(ring.contents().toString(), 'web login: root\r\nok\n', 'the cut first line is left out');
  assert.equal(ring.tail(1).toString(), 'ok\n');
  assert.equal(ring.tail(5).toString(), 'web login: root\r\nok\n');
  ring.push(Buffer.from('x'.repeat(40)));
  assert.equal(ring.contents().toString(), 'x'.repeat(24));
});

test('~. at the start of a line and Ctrl-] detach; ~~ sends one ~; a ~ elsewhere is typed as it is', () => {
  const keys = new EscapeReader();
  assert.deepEqual(keys.push(Buffer.from('ls ~/x\r~~')), { forward: Buffer.from('ls ~/x\r~'), detach: false });
  assert.deepEqual(keys.push(Buffer.from('\r~')), { forward: Buffer.from('\r'), detach: false });
  assert.deepEqual(keys.push(Buffer.from('.')), { forward: Buffer.alloc(0), detach: true }, 'the escape may come in two reads');
  assert.deepEqual(new EscapeReader().push(Buffer.from('abc\x1ddef')), { forward: Buffer.from('abc'), detach: true });
  assert.deepEqual(new EscapeReader().push(Buffer.from('~x')), { forward: Buffer.from('~x'), detach: false });
});
