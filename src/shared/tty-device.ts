/**
 * A terminal device opened as a byte pipe: raw mode, non-blocking, read through libuv's poller.
 * The console worker holds the B side of a VM's nmdm(4) pair this way (workers/console-device.ts).
 *
 * - Non-blocking open: nmdm's open waits for carrier (the other side) without O_NONBLOCK, unless
 *   CLOCAL is set (sys/kern/tty.c, ttydev_open), and the worker opens its side before bhyve.
 * - Raw mode, as bhyve puts its own side (usr.sbin/bhyve/uart_backend.c, ttyopen(): cfmakeraw()
 *   and CLOCAL): no echo, no line discipline, 8 bits through. CLOCAL also keeps our side usable
 *   when bhyve closes its side (a guest reboot): without it, carrier loss (nmdm.c,
 *   nmdm_task_tty() -> ttydisc_modem(otp, 0)) makes our tty a zombie that reads end of file.
 * - CLOCAL before the stream is made: libuv's uv_tty_init() reopens a terminal by its name without
 *   O_NONBLOCK (to get a file description of its own), an open that would wait for carrier.
 * Node has no termios API, so tcgetattr/cfmakeraw/tcsetattr come from libc through koffi, as in
 * src/auth/libc.ts. struct termios is passed as opaque bytes; only c_cflag is touched by us.
 */
import fs from 'node:fs';
import os from 'node:os';
import tty from 'node:tty';
import koffi from 'koffi';

const LIBC_NAMES: Partial<Record<NodeJS.Platform, string>> = { linux: 'libc.so.6', freebsd: 'libc.so.7' };
/** CLOCAL in c_cflag: sys/sys/_termios.h (FreeBSD), asm-generic/termbits.h (Linux). */
const CLOCAL: Partial<Record<NodeJS.Platform, number>> = { freebsd: 0x8000, linux: 0o4000 };
/** c_cflag follows c_iflag and c_oflag (4-byte tcflag_t) on both systems. */
const CFLAG_OFFSET = 8;
/** Larger than struct termios on either system (44 bytes on FreeBSD, 60 on Linux). */
const TERMIOS_BYTES = 256;
const TCSANOW = 0;

interface Termios {
  tcgetattr(fd: number, termios: Buffer): number;
  cfmakeraw(termios: Buffer): void;
  tcsetattr(fd: number, when: number, termios: Buffer): number;
}

let termios: Termios | null = null;

function libcTermios(): Termios {
  if (termios !== null) return termios;
  const name = LIBC_NAMES[process.platform];
  if (name === undefined) throw new Error(`terminal devices are not supported on ${process.platform}`);
  const lib = koffi.load(name);
  const tcgetattr = lib.func('int tcgetattr(int fd, _Out_ uint8_t *termios)');
  const cfmakeraw = lib.func('void cfmakeraw(_Inout_ uint8_t *termios)');
  const tcsetattr = lib.func('int tcsetattr(int fd, int when, const uint8_t *termios)');
  termios = {
    tcgetattr: (fd, buffer) => tcgetattr(fd, buffer) as number,
    cfmakeraw: (buffer) => void cfmakeraw(buffer),
    tcsetattr: (fd, when, buffer) => tcsetattr(fd, when, buffer) as number,
  };
  return termios;
}

/** Puts the terminal on `fd` in raw mode with CLOCAL set. */
export function makeRawLocal(fd: number): void {
  const c = libcTermios();
  const buffer = Buffer.alloc(TERMIOS_BYTES);
  if (c.tcgetattr(fd, buffer) !== 0) throw new Error('tcgetattr failed: not a terminal?');
  c.cfmakeraw(buffer);
  const le = os.endianness() === 'LE';
  const cflag = (le ? buffer.readUInt32LE(CFLAG_OFFSET) : buffer.readUInt32BE(CFLAG_OFFSET)) | (CLOCAL[process.platform] ?? 0);
  if (le) buffer.writeUInt32LE(cflag >>> 0, CFLAG_OFFSET);
  else buffer.writeUInt32BE(cflag >>> 0, CFLAG_OFFSET);
  if (c.tcsetattr(fd, TCSANOW, buffer) !== 0) throw new Error('tcsetattr failed');
}

/**
 * Opens the terminal device at `path` read-write, raw, non-blocking, never as our controlling
 * terminal; the stream reads and writes it (writes queue in the stream: the caller bounds them).
 */
export function openRawTerminal(path: string): tty.ReadStream {
  const { O_RDWR, O_NONBLOCK, O_NOCTTY } = fs.constants;
  const fd = fs.openSync(path, O_RDWR | O_NONBLOCK | O_NOCTTY);
  try {
    if (!tty.isatty(fd)) throw new Error(`${path} is not a terminal device`);
    makeRawLocal(fd);
    return new tty.ReadStream(fd);
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}
