/**
 * The worker's side (B) of a VM's console pair: the real nmdm(4) device on FreeBSD, the bhyve
 * simulator's emulation elsewhere (src/bhyvesim/nmdm.ts, under $BHYVE_SIM_DIR, which the daemon
 * and its workers inherit in tests and the demo). The only place that knows the difference.
 */
import { emulatedNmdmSocket, listenEmulatedNmdm, type ConsoleChannel } from '../src/bhyvesim/nmdm.js';
import { simStateDir } from '../src/bhyvesim/paths.js';

export type { ConsoleChannel };

/** Keystrokes queued for a guest that does not read them beyond this are dropped. */
const MAX_QUEUED_INPUT = 64 * 1024;

export async function openConsoleDevice(device: string, env: NodeJS.ProcessEnv = process.env): Promise<ConsoleChannel> {
  if (process.platform === 'freebsd') return openNmdm(device);
  const socketPath = emulatedNmdmSocket(simStateDir(env), device);
  if (socketPath === null) throw new Error(`${device} is not an nmdm device`);
  return listenEmulatedNmdm(socketPath);
}

async function openNmdm(device: string): Promise<ConsoleChannel> {
  // koffi (termios) is loaded only where it is used.
  const { openRawTerminal } = await import('../src/shared/tty-device.js');
  let terminal;
  try {
    terminal = openRawTerminal(device);
  } catch (error) {
    const hint = (error as NodeJS.ErrnoException).code === 'ENOENT' ? ' (is nmdm(4) loaded? kldload nmdm)' : '';
    throw new Error(`${(error as Error).message}${hint}`);
  }
  terminal.on('error', () => {}); // EIO once the device goes away: 'close' follows
  return {
    onData: (listener) => void terminal.on('data', listener),
    write: (data) => {
      if (terminal.destroyed || terminal.writableLength > MAX_QUEUED_INPUT) return false;
      terminal.write(data);
      return true;
    },
    close: () => terminal.destroy(),
  };
}
