/**
 * A hostile local user's client of vmstated.sock, run as an unprivileged uid by the security tests.
 * Self-contained (node: modules only): the tests copy it to a directory that user can reach, so it
 * works wherever the checkout lives. Usage: node hostile-client.mjs MODE SOCKET COUNT, or
 * node hostile-client.mjs pipeline SOCKET REQUESTS, or node hostile-client.mjs unread SOCKET COUNT REQUESTS
 *
 *   hold   opens COUNT connections, one after the other, sends `status` on each and keeps the
 *          ones served; prints {"served":N,"refused":M,"message":FIRST_REFUSAL} at the end.
 *   flood  writes COUNT `events` requests on one connection and never reads; prints
 *          {"written":COUNT} once they are handed to the socket, then {"unsent":BYTES} (what the
 *          daemon has not read yet) for each line it reads on stdin.
 *   storm  keeps 64 `status` requests in flight on each of COUNT connections, sending one for
 *          each reply, as fast as the daemon answers; prints {"storming":COUNT} once all are
 *          answering, then {"answered":N} for each line it reads on stdin.
 *   pipeline  writes REQUESTS (a JSON array of request objects) on one connection in one write,
 *          without waiting for a reply, then prints each reply as {"reply":REPLY} as it comes.
 *   unread  (node hostile-client.mjs unread SOCKET COUNT REQUESTS) opens COUNT connections, one
 *          after the other, writes REQUESTS on each and never reads; prints {"opened":N} once
 *          they are written, and opens one more connection for each line it reads on stdin.
 *
 * All stay until killed, holding what they opened.
 */
import net from 'node:net';
import readline from 'node:readline';

const [mode, socketPath, countText, requestsText] = process.argv.slice(2);
const count = Number(countText);

function print(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

function hold(): void {
  let served = 0;
  let refused = 0;
  let message: string | null = null;
  const keep: net.Socket[] = [];
  // One after the other: a burst of connects would overflow the listen queue (EAGAIN) before the
  // daemon could even refuse them.
  const open = (i: number): void => {
    if (i === count) {
      print({ served, refused, message });
      return;
    }
    const socket = net.connect(socketPath);
    keep.push(socket);
    let buffered = '';
    let answered = false;
    const answer = (ok: boolean, why: string | undefined): void => {
      if (answered) return;
      answered = true;
      if (ok) served += 1;
      else {
        refused += 1;
        message ??= why ?? 'no message';
      }
      open(i + 1);
    };
    socket.on('error', (error) => answer(false, `connection failed without a reply: ${error.message}`));
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline === -1) return;
      const reply = JSON.parse(buffered.slice(0, newline)) as { ok: boolean; error?: { message: string } };
      answer(reply.ok, reply.error?.message);
    });
    socket.write(JSON.stringify({ v: 1, id: i, cmd: 'status' }) + '\n');
  };
  open(0);
}

function flood(): void {
  const socket = net.connect(socketPath);
  socket.pause(); // never read a reply
  socket.on('error', (error) => print({ error: error.message }));
  socket.on('connect', () => {
    for (let i = 0; i < count; i++) socket.write(JSON.stringify({ v: 1, id: i, cmd: 'events' }) + '\n');
    print({ written: count });
  });
  readline.createInterface({ input: process.stdin }).on('line', () => print({ unsent: socket.writableLength }));
}

function storm(): void {
  let answered = 0;
  let answering = 0;
  for (let i = 0; i < count; i++) {
    const socket = net.connect(socketPath);
    let buffered = '';
    let first = true;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (let n = 0; n < lines.length; n++) socket.write('{"v":1,"id":1,"cmd":"status"}\n');
      answered += lines.length;
      if (first && lines.length > 0) {
        first = false;
        answering += 1;
        if (answering === count) print({ storming: count });
      }
    });
    for (let n = 0; n < 64; n++) socket.write('{"v":1,"id":1,"cmd":"status"}\n');
  }
  readline.createInterface({ input: process.stdin }).on('line', () => print({ answered }));
}

function pipeline(): void {
  const requests = JSON.parse(countText!) as unknown[];
  const socket = net.connect(socketPath);
  socket.on('error', (error) => print({ error: error.message }));
  let buffered = '';
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) print({ reply: JSON.parse(line) });
  });
  socket.write(requests.map((request) => JSON.stringify(request) + '\n').join(''));
}

function unread(): void {
  const requests = (JSON.parse(requestsText!) as unknown[]).map((request) => JSON.stringify(request) + '\n').join('');
  const keep: net.Socket[] = [];
  // One after the other, as hold() does; each is written to once connected and never read.
  const open = (then: () => void): void => {
    const socket = net.connect(socketPath);
    socket.pause();
    socket.on('error', (error) => print({ error: error.message }));
    keep.push(socket);
    socket.on('connect', () => socket.write(requests, then));
  };
  const openMore = (left: number): void => {
    if (left === 0) print({ opened: keep.length });
    else open(() => openMore(left - 1));
  };
  openMore(count);
  readline.createInterface({ input: process.stdin }).on('line', () => openMore(1));
}

if (mode === 'hold') hold();
else if (mode === 'unread') unread();
else if (mode === 'pipeline') pipeline();
else if (mode === 'flood') flood();
else if (mode === 'storm') storm();
else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
