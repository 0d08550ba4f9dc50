/**
 * A user's long-lived streams on one connection of vmstated.sock, as the revocation probe opens
 * them: the console of a VM (request "c") and its log followed (request "l"). Run as an
 * unprivileged uid by the security tests; self-contained (node: modules only), so the tests copy it
 * where that user can reach it. Usage: node stream-client.mjs SOCKET VM
 *
 * Prints every line the daemon sends as it came, then {"closed":true} when the connection closes.
 * Each line read on stdin is typed on the console (a `console-input` with the line and a carriage
 * return), as request "k0", "k1", ...
 */
import net from 'node:net';
import readline from 'node:readline';

const [socketPath, vm] = process.argv.slice(2);

function send(socket: net.Socket, request: unknown): void {
  socket.write(JSON.stringify(request) + '\n');
}

const socket = net.connect(socketPath);
socket.on('error', (error) => process.stdout.write(JSON.stringify({ error: error.message }) + '\n'));
socket.on('close', () => process.stdout.write('{"closed":true}\n'));
let buffered = '';
socket.on('data', (chunk: Buffer) => {
  buffered += chunk.toString('utf8');
  const lines = buffered.split('\n');
  buffered = lines.pop() ?? '';
  for (const line of lines) process.stdout.write(line + '\n');
});
send(socket, { v: 1, id: 'c', cmd: 'console', args: { vm, history: 0 } });
send(socket, { v: 1, id: 'l', cmd: 'logs', args: { vm, n: 0, follow: true } });

let keys = 0;
readline.createInterface({ input: process.stdin }).on('line', (text) => {
  const data = Buffer.from(`${text}\r`).toString('base64');
  send(socket, { v: 1, id: `k${keys++}`, cmd: 'console-input', args: { console: 'c', data } });
});
