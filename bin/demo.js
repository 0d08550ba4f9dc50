#!/usr/bin/env node
// `npm run demo`: vmstated in the foreground on a copy of examples/, with the bhyve simulator,
// every file it makes under ./run/ (the copy with its generated bhyve configs, socket, pidfile,
// logs, worker run dir, simulator state and its stand-in boot ROM). No root needed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = path.join(root, 'run');
const paths = {
  socket: path.join(run, 'vmstated.sock'),
  pidfile: path.join(run, 'vmstated.pid'),
  logdir: path.join(run, 'log'),
  rundir: path.join(run, 'vmstated'),
  simdir: path.join(run, 'bhyve-sim'),
  examples: path.join(run, 'examples'),
};

if (!fs.existsSync(path.join(root, 'dist', 'src', 'daemon', 'main.js'))) {
  process.stderr.write('demo: dist/ is missing; build first with `npm run build`\n');
  process.exit(1);
}
const dist = (file) => import(path.join(root, 'dist', 'src', file));
const [{ copyExamples }, { ensureSimBootrom }, { checkTrustedPath }] = await Promise.all([
  dist('bhyvesim/demo-copy.js'), dist('bhyvesim/paths.js'), dist('shared/trusted-path.js'),
]);
// vmstated uses only files that nobody but it may change (vmstated(8), SECURITY CONSIDERATIONS):
// a checkout that its group may write (a umask of 002) would have every example VM refused.
const checkout = checkTrustedPath(root);
if (!checkout.trusted) {
  process.stderr.write(`demo: vmstated would refuse every VM under ${root}: ${checkout.reason}\n` +
    'demo: it uses only files nobody else may change; fix the checkout, e.g. chmod -R go-w ' + root + '\n');
  process.exit(1);
}
// A second demo in the same checkout would refresh the first one's config copy under it before
// vmstated refused to start beside it: nothing is touched while a daemon serves ./run.
if (await answers(paths.socket)) {
  let pid = '';
  try {
    pid = ` (pid ${fs.readFileSync(paths.pidfile, 'utf8').trim()})`;
  } catch {
    // no pidfile: the socket alone says it
  }
  process.stderr.write(`demo: a vmstated already serves ${path.relative(process.cwd(), paths.socket)}${pid}: this checkout's demo is running;\n` +
    'demo: use it (the hints it printed), or stop it with Ctrl-C in its terminal first\n');
  process.exit(1);
}
// Modes set, not left to the umask: the daemon refuses a log or run directory others may write.
for (const [dir, mode] of [[run, 0o755], [paths.simdir, 0o755], [paths.logdir, 0o750], [paths.rundir, 0o750]]) {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, mode);
}
// A fresh copy at each start: vmstated writes <configfile>.generated beside each bhyve config.
copyExamples(path.join(root, 'examples'), paths.examples, ensureSimBootrom(paths.simdir));

const args = [
  path.join(root, 'bin', 'vmstated.js'), '-f',
  '-c', paths.examples,
  '-s', paths.socket, '-p', paths.pidfile, '-l', paths.logdir, '-r', paths.rundir,
  '--bhyve', path.join(root, 'bin', 'bhyve-sim.js'),
  '--bhyvectl', path.join(root, 'bin', 'bhyvectl-sim'),
];
// The daemon gets a session (so a process group) of its own: Ctrl-C in this terminal signals the
// foreground group, which does not include it, and it gets the one SIGINT passed on below (in our
// group it would get the terminal's and ours, and log the second as `already shutting down`).
const daemon = spawn(process.execPath, args, {
  stdio: ['ignore', 'inherit', 'inherit'],
  detached: true,
  env: { ...process.env, BHYVE_SIM_DIR: paths.simdir },
});

const relative = (file) => path.relative(process.cwd(), file) || '.';
const hints = `
vmstated is serving the example VMs (db and web start by themselves; build waits for you).
In another terminal, in ${root}:

  export PATH=$PWD/bin:$PATH VMSTATED_SOCKET=$PWD/${path.relative(root, paths.socket)}
  vmstatedctl status
  vmstatedctl start build
  vmstatedctl logs web -f
  vmstatedctl console web                           # the guest's serial console; ~. detaches
  vmstatedctl events
  BHYVE_SIM_DIR=$PWD/${path.relative(root, paths.simdir)} bhyvectl-sim --vm=web --sim-guest=reboot
  vmstatedctl reload                                # after editing ${path.relative(root, paths.examples)}/*/config

The VMs' configs are a copy of examples/ in ${relative(paths.examples)}/ (made afresh at each start): edit those.

VM logs: ${relative(paths.logdir)}/<vm>.log.  Ctrl-C stops every VM (reverse start order) and exits.
`;

// Print the hints once the daemon serves (its pidfile names it).
const started = Date.now();
const poll = setInterval(() => {
  let pid = null;
  try {
    pid = Number.parseInt(fs.readFileSync(paths.pidfile, 'utf8'), 10);
  } catch {
    // not yet
  }
  if (pid === daemon.pid) {
    clearInterval(poll);
    process.stdout.write(hints);
  } else if (Date.now() - started > 60_000) {
    clearInterval(poll);
  }
}, 100);

// Pass signals on and wait for the daemon to finish stopping the VMs. Only the first: one Ctrl-C
// may reach us twice (from the terminal, and forwarded by `npm run`), and the daemon, already
// stopping, would only log the second. A hangup (the terminal closed) stops the demo as Ctrl-C
// does; the daemon itself, in a session of its own, reloads on SIGHUP (kill -HUP its pid).
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (!stopping) daemon.kill(signal === 'SIGHUP' ? 'SIGTERM' : signal);
    stopping = true;
  });
}
daemon.on('exit', (code, signal) => {
  clearInterval(poll);
  process.exit(code ?? (signal ? 1 : 0));
});

/** Whether something accepts connections on the Unix socket `file`. */
function answers(file) {
  return new Promise((resolve) => {
    const socket = net.connect(file);
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
