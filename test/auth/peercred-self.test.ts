/** getPeerCredentials on a connection from this very process (no other user needed). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PeerCredentialsError, getPeerCredentials, parseProcStatusGroups } from '../../src/auth/peercred.js';

async function withConnection(t: { after(fn: () => void): void }, onServerSide: (socket: net.Socket) => void): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmst-peerself-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const socketPath = path.join(dir, 's.sock');
  let client: net.Socket | undefined;
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer((socket) => {
      try {
        onServerSide(socket);
        resolve();
      } catch (error) {
        reject(error as Error);
      } finally {
        socket.destroy();
        server.close();
      }
    });
    server.listen(socketPath, () => {
      client = net.connect(socketPath);
      client.on('error', () => {});
    });
  });
  client?.destroy();
}

test('the kernel reports our own uid, gid, groups and pid', async (t) => {
  await withConnection(t, (socket) => {
    const peer = getPeerCredentials(socket);
    assert.equal(peer.uid, process.getuid!());
    assert.equal(peer.gid, process.getgid!());
    assert.equal(peer.pid, process.pid);
    // process.getgroups() adds the egid; /proc holds the kernel's supplementary list itself.
    const expected =
      process.platform === 'linux'
        ? parseProcStatusGroups(fs.readFileSync('/proc/self/status', 'utf8'))
        : process.getgroups!().filter((g) => g !== peer.gid);
    const numeric = (a: number, b: number): number => a - b;
    assert.deepEqual([...peer.groups].sort(numeric), [...expected].sort(numeric));
  });
});

test('a closed socket gives a PeerCredentialsError, not a crash', async (t) => {
  await withConnection(t, (socket) => {
    socket.destroy();
    assert.throws(() => getPeerCredentials(socket), PeerCredentialsError);
  });
});
