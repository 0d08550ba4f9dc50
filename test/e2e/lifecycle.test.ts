/**
 * The VM lifecycle from the outside (DESIGN.md sections 3-6): the real vmstated and vmstatedctl,
 * with our own POSIX-sh bhyve and bhyvectl stand-ins (not the project's simulator), checked through
 * vmstatedctl's exit codes, `--json status`, `logs`, `events` and what the hooks and stand-ins record.
 * One daemon, several VMs driven in parallel, the daemon's SIGTERM shutdown last. Between steps the
 * status comes from the socket (the reply `vmstatedctl --json status` prints) to spare CLI start-ups.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createVmstatedEnv, waitFor, type VmstatedEnv } from '../helpers/vmstated-env.js';
import { CONSOLE_TEXT, DIAGNOSTIC_TEXT, writeStandIns, type HookRecord, type StandIns } from './standins.js';
import { ctl, ctlLogs, ctlStatus, EventRecorder } from './ctl.js';

const STEP_TIMEOUT_MS = 30_000;

/** Waits until the calls of `vm` after `from` are exactly `expected` (fails early on a mismatch). */
async function expectSequence(si: StandIns, vm: string, from: number, expected: string[], what: string): Promise<void> {
  let seen: string[] = [];
  const outcome = await waitFor(`${vm}: ${what}`, () => {
    seen = si.tokens(vm, from);
    if (seen.length < expected.length) return undefined;
    // a few more calls may still be on their way; compare once the expected count is there
    return JSON.stringify(seen) === JSON.stringify(expected) ? 'ok' : 'mismatch';
  }, STEP_TIMEOUT_MS).catch((error: Error) => `${error.message}`);
  assert.deepEqual(seen, expected, `${vm}: ${what} (${outcome})`);
}

function reasons(records: HookRecord[]): string[] {
  return records.map((record) => `${record.state}(${record.reason})`);
}

function assertGone(pids: number[], what: string): void {
  for (const pid of pids) {
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `${what}: bhyve pid ${pid} is still there`);
  }
}

const START = ['start_network', 'start_storage', 'destroy', 'launch', 'running'];

/** `vmstatedctl start vm`, then waits until the stand-ins recorded the whole start (bhyve records itself late). */
async function startVm(env: VmstatedEnv, si: StandIns, vm: string): Promise<void> {
  const mark = si.calls(vm).length;
  await ctlOk(env, 'start', vm);
  await expectSequence(si, vm, mark, START, 'start');
}

async function ctlOk(env: VmstatedEnv, ...args: string[]): Promise<number> {
  const result = await ctl(env, ...args);
  assert.equal(result.status, 0, `vmstatedctl ${args.join(' ')}: ${result.stdout}${result.stderr}`);
  return result.ms;
}

function configureVms(env: VmstatedEnv, si: StandIns): { scripts: string } {
  const alpha = env.writeVm('alpha', { maxrestart: 10, maxrestarttime: 3600, memory: '512M', cpus: 2 }, { hooks: si.allHooks() });
  // bhyve file bytes without a final newline: the generated file must add exactly one
  fs.writeFileSync(path.join(alpha, 'bhyve_config'), '# alpha\nlpc.com1.path=stdio\nmemory.size=128M');

  // scriptpath: hooks live elsewhere; a hook in the config dir must not run
  const scripts = path.join(env.dir, 'stubborn-scripts');
  fs.mkdirSync(scripts);
  for (const [state, body] of Object.entries(si.allHooks())) fs.writeFileSync(path.join(scripts, state), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  const stubborn = env.writeVm('stubborn', {
    stoptimeout: '500ms', scriptpath: scripts, memory: 'MEMORY', cpus: 4, sockets: 2, cores: 2,
    generate_acpi_tables: true, vmexit_on_halt: false, bootrom: '/boot/BHYVE_UEFI.fd',
  }, { hooks: { start_network: 'echo wrong-dir >> "$VMSTATED_CONFIGDIR/ran"' } });
  // an unquoted 4G (which UCL itself reads as 4000000000) still means 4 GiB to bhyve
  const config = path.join(stubborn, 'config');
  fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace('"MEMORY"', '4G'));
  fs.writeFileSync(path.join(stubborn, 'bhyve_config'), 'lpc.com1.path=stdio\n');
  si.setMode('stubborn', 'ignore-term');

  env.writeVm('deaf', { stoptimeout: '300ms' }, { hooks: si.allHooks() });
  si.setMode('deaf', 'deaf');

  env.writeVm('loop', { maxrestart: 2, maxrestarttime: 30 }, { hooks: si.allHooks() });
  si.setMode('loop', 'exit 0');

  env.writeVm('badstorage', {}, { hooks: si.allHooks({ start_storage: si.recordingHook('echo "no such pool" >&2; exit 1') }) });
  return { scripts };
}

test('VM lifecycle through vmstated and vmstatedctl, with stand-in bhyve and bhyvectl', { concurrency: true, timeout: 120_000 }, async (t) => {
  const env = createVmstatedEnv('vmstated-e2e-');
  t.after(() => env.destroy());
  const si = writeStandIns(env.dir);
  const { scripts } = configureVms(env, si);
  const daemonPid = await env.startDaemon(si.daemonArgs);
  const events = await EventRecorder.start(env);
  t.after(() => events.stop());

  const alpha = t.test('alpha: start, reboot, crashes, restart, stop, guest poweroff and halt', async () => {
    const vm = 'alpha';
    const vmdir = path.join(env.configdir, vm);
    await ctlOk(env, 'start', vm);
    await expectSequence(si, vm, 0, ['start_network', 'start_storage', 'destroy', 'launch', 'running'], 'start');
    const [firstPid] = si.launchPids(vm);
    const generated = path.join(vmdir, 'bhyve_config.generated');
    assert.ok(si.calls(vm).includes(`bhyve -k ${generated} alpha pid=${firstPid}`), si.calls(vm).join('\n'));
    assert.equal(si.configSeen(vm, firstPid!), '# alpha\nlpc.com1.path=stdio\nmemory.size=128M\nmemory.size=512M\ncpus=2\nlpc.com1.path=/dev/nmdm-vmstated-alphaA\nname=alpha\n');
    assert.equal(fs.readFileSync(generated, 'utf8'), si.configSeen(vm, firstPid!));
    const startHooks = si.hooks(vm);
    assert.deepEqual(reasons(startHooks), ['start_network(start)', 'start_storage(start)', 'running(start)']);
    for (const hook of startHooks) {
      assert.equal(hook.vm, vm);
      assert.equal(hook.cwd, vmdir, 'hooks run in the script directory (default: the config dir)');
      assert.equal(hook.configdir, vmdir);
      assert.equal(hook.exit, 'unset');
    }
    assert.equal(startHooks[0]!.pid, 'unset', 'no bhyve yet at start_network');
    assert.equal(startHooks[2]!.pid, String(firstPid), 'running sees bhyve pid');
    let status = await ctlStatus(env, vm);
    assert.equal(status.state, 'running');
    assert.equal(status.pid, firstPid);
    assert.equal(status.restarts, 0);
    assert.equal(status.lastExit, null);
    assert.equal(status.failureReason, null);
    assert.ok(Date.parse(status.since) > 0);

    // guest reboot and crashes: restarting -> [destroy, relaunch] -> restarted -> running
    const exits: Array<{ command: string; reason: string; code: number | null; signal: string | null; env: string }> = [
      { command: 'exit 0', reason: 'reboot', code: 0, signal: null, env: '0' },
      { command: 'exit 3', reason: 'crash', code: 3, signal: null, env: '3' },
      { command: 'exit 4', reason: 'crash', code: 4, signal: null, env: '4' },
      { command: 'exit 77', reason: 'crash', code: 77, signal: null, env: '77' },
      { command: 'signal ABRT', reason: 'crash', code: null, signal: 'SIGABRT', env: 'unset' },
    ];
    for (const [index, exit] of exits.entries()) {
      const mark = si.calls(vm).length;
      const oldPid = si.launchPids(vm).at(-1)!;
      si.command(vm, exit.command);
      await expectSequence(si, vm, mark, ['restarting', 'destroy', 'launch', 'restarted', 'running'], `bhyve ${exit.command}`);
      const hooks = si.hooks(vm, mark);
      assert.deepEqual(reasons(hooks), [`restarting(${exit.reason})`, `restarted(${exit.reason})`, `running(${exit.reason})`]);
      assert.equal(hooks[0]!.pid, String(oldPid));
      assert.equal(hooks[0]!.exit, exit.env, 'VMSTATED_EXIT at restarting is the exit code');
      const newPid = si.launchPids(vm, mark)[0]!;
      assert.equal(hooks[1]!.pid, String(newPid), 'restarted comes after the relaunch');
      assert.equal(hooks[2]!.pid, String(newPid));
      // the status follows the worker's events: wait for it to catch up with the hooks
      status = await env.waitForStatus(vm, (s) => s.state === 'running' && s.pid === newPid, STEP_TIMEOUT_MS);
      assert.equal(status.restarts, index + 1);
      assert.equal(status.lastExit?.code, exit.code);
      assert.equal(status.lastExit?.signal, exit.signal);
      assertGone([oldPid], exit.command);
    }
    assert.match((await env.status(vm)).lastExit!.meaning, /abort|SIGABRT/i);

    // vmstatedctl restart: graceful stop, relaunch; not counted
    let mark = si.calls(vm).length;
    await ctlOk(env, 'restart', vm);
    await expectSequence(si, vm, mark, ['restarting', 'sigterm', 'destroy', 'launch', 'restarted', 'running'], 'vmstatedctl restart');
    assert.deepEqual(reasons(si.hooks(vm, mark)), ['restarting(restart)', 'restarted(restart)', 'running(restart)']);
    status = await env.status(vm);
    assert.equal(status.restarts, exits.length, 'a requested restart is not counted');

    // vmstatedctl stop: SIGTERM (the stand-in powers off with exit 1), destroy, stop hooks
    mark = si.calls(vm).length;
    const stoppedPid = si.launchPids(vm).at(-1)!;
    await ctlOk(env, 'stop', vm);
    await expectSequence(si, vm, mark, ['stopping', 'sigterm', 'destroy', 'stop_storage', 'stop_network', 'stopped'], 'vmstatedctl stop');
    const stopHooks = si.hooks(vm, mark);
    assert.deepEqual(reasons(stopHooks), ['stopping(stop)', 'stop_storage(stop)', 'stop_network(stop)', 'stopped(stop)']);
    assert.equal(stopHooks[1]!.exit, '1', 'stop_storage sees the power-off exit code');
    status = await ctlStatus(env, vm);
    assert.equal(status.state, 'stopped');
    assert.equal(status.pid, null);
    assert.equal(status.lastExit?.code, 1);
    assert.equal(si.instanceExists(vm), false, 'VM instance destroyed');
    assertGone([stoppedPid], 'stop');

    // guest poweroff (1) and halt (2): stopping -> [destroy] -> stop_storage -> stop_network -> stopped
    for (const code of [1, 2]) {
      await startVm(env, si, vm);
      mark = si.calls(vm).length;
      si.command(vm, `exit ${code}`);
      await expectSequence(si, vm, mark, ['stopping', 'destroy', 'stop_storage', 'stop_network', 'stopped'], `guest exit ${code}`);
      status = await env.waitForStatus(vm, (s) => s.state === 'stopped', STEP_TIMEOUT_MS);
      assert.equal(status.lastExit?.code, code);
      assert.equal(si.instanceExists(vm), false);
    }

    // the event stream told the same story as the hooks
    const hookStates = si.hooks(vm).map((hook) => `${hook.state}(${hook.reason})`);
    await waitFor('alpha events to catch up', () => (events.states(vm).length >= hookStates.length ? true : undefined), STEP_TIMEOUT_MS).catch(() => {});
    assert.deepEqual(events.states(vm), hookStates);
    const launches = events.ofType(vm, 'launch').map((event) => event.pid);
    assert.deepEqual(launches, si.launchPids(vm));
    const exitCodes = events.ofType(vm, 'exit').map((event) => event.exit.code ?? event.exit.signal);
    assert.deepEqual(exitCodes, [0, 3, 4, 77, 'SIGABRT', 1, 1, 1, 2]);

    // the VM log: transitions, hook results, launches, exits, bhyve's output verbatim
    const log = await ctlLogs(env, vm);
    const has = (pattern: RegExp, what: string): void => assert.ok(log.some((line) => pattern.test(line)), `VM log has ${what}:\n${log.join('\n')}`);
    has(/stopped\W+start_network\b.*\bstart\b/, 'the stopped -> start_network transition');
    has(/running\W+restarting\b.*\breboot\b/, 'the running -> restarting (reboot) transition');
    has(/restarting\W+restarted\b.*\bcrash\b/, 'a restarting -> restarted (crash) transition');
    has(/stop_network\W+stopped\b.*\bstop\b/, 'the stop_network -> stopped transition');
    has(/start_storage\b.*exit 0\b.*\d+ ?ms/, 'the start_storage hook result with its duration');
    has(/hook start_network of alpha says hello/, "a hook's output");
    for (const pid of si.launchPids(vm)) {
      has(new RegExp(`\\b${pid}\\b.*${escape(`${si.bhyve} -k ${generated} alpha`)}`), `the launch of pid ${pid} with its argv`);
      has(new RegExp(`\\b${pid}\\b.*${escape(CONSOLE_TEXT)}$`), `bhyve ${pid}'s stdout verbatim`);
      has(new RegExp(`\\b${pid}\\b.*${escape(DIAGNOSTIC_TEXT)}$`), `bhyve ${pid}'s stderr verbatim`);
    }
    has(new RegExp(`\\b${firstPid}\\b.*exit.*\\b0\\b.*reboot`), 'the first exit: code 0, reboot');
    has(/exit.*\b3\b.*triple fault/, 'exit 3: triple fault');
    has(/exit.*SIGABRT/, 'the death by SIGABRT');
    has(/exit.*\b2\b.*halt/, 'exit 2: halted');

    await startVm(env, si, vm); // left running for the daemon's shutdown
  });

  const stubborn = t.test('stubborn: scriptpath, and a guest ignoring SIGTERM is forced off after stoptimeout', async () => {
    const vm = 'stubborn';
    await ctlOk(env, 'start', vm);
    await expectSequence(si, vm, 0, ['start_network', 'start_storage', 'destroy', 'launch', 'running'], 'start');
    for (const hook of si.hooks(vm)) {
      assert.equal(hook.cwd, scripts, 'cwd is the scriptpath directory');
      assert.equal(hook.configdir, path.join(env.configdir, vm));
    }
    assert.equal(fs.existsSync(path.join(env.configdir, vm, 'ran')), false, 'the config dir hook did not run');
    const pid = si.launchPids(vm)[0]!;
    assert.equal(
      si.configSeen(vm, pid),
      'lpc.com1.path=stdio\n\nmemory.size=4096M\ncpus=4\nsockets=2\ncores=2\nacpi_tables=true\nx86.vmexit_on_hlt=false\nlpc.bootrom=/boot/BHYVE_UEFI.fd\nlpc.com1.path=/dev/nmdm-vmstated-stubbornA\nname=stubborn\n',
    );
    const mark = si.calls(vm).length;
    const ms = await ctlOk(env, 'stop', vm);
    await expectSequence(si, vm, mark, ['stopping', 'sigterm-ignored', 'force-poweroff', 'destroy', 'stop_storage', 'stop_network', 'stopped'], 'stop with escalation');
    assert.ok(ms >= 500, `the force came after stoptimeout (stop took ${ms} ms)`);
    const status = await ctlStatus(env, vm);
    assert.equal(status.state, 'stopped');
    assert.equal(status.lastExit?.code, 1, 'forced power-off: exit 1');
    assertGone([pid], 'forced stop');
    const forced = events.events.find((event) => event.type === 'state' && event.vm === vm && event.state === 'stopping' && event.forceAt !== undefined);
    assert.ok(forced, 'the stopping event announced when the force comes');
  });

  const loop = t.test('loop: the 3rd automatic restart within the window fails; failreset', async () => {
    const vm = 'loop';
    await ctl(env, 'start', vm); // it may be running or already restarting when this returns
    const failed = await env.waitForStatus(vm, (s) => s.state === 'failed', STEP_TIMEOUT_MS);
    const once = ['restarting', 'destroy', 'launch', 'restarted', 'running'];
    await expectSequence(si, vm, 0, [
      'start_network', 'start_storage', 'destroy', 'launch', 'running', ...once, ...once,
      'restarting', 'destroy', 'stop_storage', 'stop_network', 'failed',
    ], 'restart loop into failure');
    assert.deepEqual(reasons(si.hooks(vm)).slice(-4), ['restarting(reboot)', 'stop_storage(failure)', 'stop_network(failure)', 'failed(failure)']);
    const status = await ctlStatus(env, vm);
    assert.equal(status.state, 'failed');
    assert.equal(status.pid, null);
    assert.match(status.failureReason ?? '', /restart/i);
    assert.equal(failed.failureReason, status.failureReason);
    assert.equal(si.instanceExists(vm), false, 'VM instance destroyed');
    assertGone(si.launchPids(vm), 'failure');
    const failedEvent = events.events.find((event) => event.type === 'state' && event.vm === vm && event.state === 'failed');
    assert.ok(failedEvent?.type === 'state' && failedEvent.reason === 'failure' && failedEvent.failureReason, JSON.stringify(failedEvent));

    await waitFor('the failed hook in the event stream', () => (events.ofType(vm, 'hook').some((e) => e.hook === 'failed') ? true : undefined), 5_000)
      .catch(() => assert.fail(`the events stream lacks the failed hook's result: ${events.ofType(vm, 'hook').map((e) => e.hook).join(' ')}`));
    const refused = await ctl(env, 'start', vm);
    assert.notEqual(refused.status, 0, 'start on a failed VM is refused');
    assert.match(refused.stderr, /^vmstatedctl: loop: in failure mode \(.+\); run failreset first\n$/, 'the VM is named once, with the reason and the way out');
    assert.equal((await env.status(vm)).state, 'failed');
    assert.equal(si.launchPids(vm).length, 3, 'no launch after the refusal');

    await ctlOk(env, 'failreset', vm);
    const reset = await ctlStatus(env, vm);
    assert.equal(reset.state, 'stopped');
    assert.equal(reset.restarts, 0);
    assert.equal(reset.failureReason, null);
    assert.notEqual((await ctl(env, 'failreset', vm)).status, 0, 'failreset only from failed');
    await waitFor('failed -> stopped in the event stream', () => (events.ofType(vm, 'state').some((e) => e.previous === 'failed' && e.state === 'stopped' && e.reason === 'stop') ? true : undefined), 5_000);
    assert.ok((await ctlLogs(env, vm)).some((line) => / vmstated: state failed -> stopped \(reason stop\)$/.test(line)), 'failreset is a line in the VM log');

    // the counter really was cleared: two more reboots are allowed again
    si.setMode(vm, null);
    await startVm(env, si, vm);
    const mark = si.calls(vm).length;
    si.command(vm, 'exit 0');
    await expectSequence(si, vm, mark, once, 'a reboot after failreset');
    const afterReset = await env.waitForStatus(vm, (s) => s.state === 'running' && s.pid === si.launchPids(vm).at(-1), STEP_TIMEOUT_MS);
    assert.equal(afterReset.restarts, 1, 'the restart history was cleared by failreset');
    await ctlOk(env, 'stop', vm);
  });

  const badstorage = t.test('badstorage: start_storage fails: failed, stop_network ran, no bhyve', async () => {
    const vm = 'badstorage';
    const result = await ctl(env, 'start', vm);
    assert.notEqual(result.status, 0, 'start fails');
    await expectSequence(si, vm, 0, ['start_network', 'start_storage', 'destroy', 'stop_storage', 'stop_network', 'failed'], 'failing start_storage');
    assert.deepEqual(reasons(si.hooks(vm)).slice(-3), ['stop_storage(failure)', 'stop_network(failure)', 'failed(failure)']);
    assert.equal(si.launchPids(vm).length, 0, 'bhyve never launched');
    const status = await ctlStatus(env, vm);
    assert.equal(status.state, 'failed');
    assert.equal(status.pid, null);
    assert.match(status.failureReason ?? '', /start_storage/);
    const log = await ctlLogs(env, vm);
    assert.ok(log.some((line) => line.includes('no such pool')), "the hook's stderr is in the log");
    assert.ok(log.some((line) => /start_storage.*exit 1\b/.test(line)), 'the hook result is in the log');
  });

  const deaf = t.test('deaf: a guest ignoring SIGTERM and the forced power-off is killed 5 s later', async () => {
    const vm = 'deaf';
    await ctlOk(env, 'start', vm);
    await expectSequence(si, vm, 0, ['start_network', 'start_storage', 'destroy', 'launch', 'running'], 'start');
    const pid = si.launchPids(vm)[0]!;
    const mark = si.calls(vm).length;
    const ms = await ctlOk(env, 'stop', vm);
    await expectSequence(si, vm, mark, ['stopping', 'sigterm-ignored', 'force-poweroff', 'ignored-command', 'destroy', 'stop_storage', 'stop_network', 'stopped'], 'stop escalated to SIGKILL');
    assert.ok(ms >= 5_300, `SIGKILL came stoptimeout + 5 s after SIGTERM (stop took ${ms} ms)`);
    const status = await ctlStatus(env, vm);
    assert.equal(status.state, 'stopped');
    assert.equal(status.lastExit?.signal, 'SIGKILL');
    assertGone([pid], 'killed');
    assert.equal(si.instanceExists(vm), false);
  });

  await Promise.all([alpha, stubborn, deaf, loop, badstorage]);

  await t.test('SIGTERM to the daemon stops running VMs with reason shutdown and exits', async () => {
    const vm = 'alpha';
    await env.waitForStatus(vm, (s) => s.state === 'running', STEP_TIMEOUT_MS);
    const mark = si.calls(vm).length;
    const pid = si.launchPids(vm).at(-1)!;
    process.kill(daemonPid, 'SIGTERM');
    await waitFor('the daemon to exit', () => {
      try {
        process.kill(daemonPid, 0);
        return undefined;
      } catch {
        return true;
      }
    }, 30_000);
    await expectSequence(si, vm, mark, ['stopping', 'sigterm', 'destroy', 'stop_storage', 'stop_network', 'stopped'], 'daemon shutdown');
    assert.deepEqual(reasons(si.hooks(vm, mark)), ['stopping(shutdown)', 'stop_storage(shutdown)', 'stop_network(shutdown)', 'stopped(shutdown)']);
    assertGone([pid], 'shutdown');
    assert.equal(si.instanceExists(vm), false);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
