/**
 * Validation of control requests (DESIGN.md section 6) and reply builders.
 * Every error names the request (its id and command when they are known) and
 * says what is wrong, so that a script speaking the protocol by hand can fix it.
 */
import { EncodedMessage } from './framing.js';
import { PROTOCOL_VERSION } from './types.js';
import type { Command, ErrorCode, ReplyError, ReplyOk, Request } from './types.js';

type ArgType = 'string' | 'boolean' | 'count' | 'id';
interface ArgSpec {
  type: ArgType;
  required?: boolean;
}

/** The arguments each command accepts. Unknown arguments are rejected, so typos do not pass silently. */
export const COMMAND_ARGS: Readonly<Record<Command, Readonly<Record<string, ArgSpec>>>> = {
  status: { vm: { type: 'string' } },
  start: { vm: { type: 'string', required: true }, wait: { type: 'boolean' } },
  stop: { vm: { type: 'string', required: true }, wait: { type: 'boolean' } },
  restart: { vm: { type: 'string', required: true }, wait: { type: 'boolean' } },
  failreset: { vm: { type: 'string', required: true } },
  reload: {},
  top: { vm: { type: 'string' } },
  logs: { vm: { type: 'string', required: true }, n: { type: 'count' }, follow: { type: 'boolean' } },
  events: { vm: { type: 'string' } },
  shutdown: { keepVms: { type: 'boolean' } },
  problems: { vm: { type: 'string' } },
  metrics: {},
  console: { vm: { type: 'string', required: true }, history: { type: 'count' }, readOnly: { type: 'boolean' } },
  // Keystrokes for the console attached by request `console` on this connection (base64 `data`).
  'console-input': { console: { type: 'id', required: true }, data: { type: 'string', required: true } },
};

export const COMMANDS = Object.keys(COMMAND_ARGS) as Command[];

/** Commands that act on one named VM (`args.vm` is required). */
export const VM_COMMANDS: ReadonlySet<Command> = new Set(
  COMMANDS.filter((cmd) => COMMAND_ARGS[cmd].vm?.required === true),
);

/** Longest accepted string id, to keep error messages and logs readable. */
export const MAX_ID_LENGTH = 256;

export type ParseResult = { ok: true; request: Request & { args: Record<string, unknown> } } | { ok: false; reply: ReplyError };

export function okReply<T>(id: string | number | null, result: T): ReplyOk<T> {
  return { v: PROTOCOL_VERSION, id, ok: true, result };
}

/**
 * okReply for a result that is already JSON (text, or its UTF-8 bytes): the same line as
 * `encodeLine(okReply(id, JSON.parse(resultJson)))`, without encoding the result again.
 */
export function okReplyEncoded(id: string | number | null, resultJson: string | Buffer): EncodedMessage {
  return new EncodedMessage([`{"v":${PROTOCOL_VERSION},"id":${JSON.stringify(id)},"ok":true,"result":`, resultJson, '}']);
}

export function errorReply(id: string | number | null, code: ErrorCode, message: string, bhyveStderr?: string[]): ReplyError {
  const error: ReplyError['error'] = bhyveStderr === undefined ? { code, message } : { code, message, bhyveStderr };
  return { v: PROTOCOL_VERSION, id, ok: false, error };
}

/** "request 7 (start)" / "request \"a\"" / "request": how errors name a request. */
export function describeRequest(id: string | number | null, cmd?: string): string {
  const idText = id === null ? '' : ` ${JSON.stringify(id)}`;
  const cmdText = cmd === undefined ? '' : ` (${cmd})`;
  return `request${idText}${cmdText}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCommand(value: unknown): value is Command {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(COMMAND_ARGS, value);
}

function validId(id: unknown): id is string | number {
  if (typeof id === 'number') return Number.isFinite(id);
  return typeof id === 'string' && id.length <= MAX_ID_LENGTH;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** Checks one argument; returns what is wrong, or null. */
function checkArg(name: string, value: unknown, spec: ArgSpec): string | null {
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string') return `"${name}" must be a string, not ${describeType(value)}`;
      if (value === '') return `"${name}" must not be empty`;
      return null;
    case 'boolean':
      return typeof value === 'boolean' ? null : `"${name}" must be true or false, not ${describeType(value)}`;
    case 'count':
      return Number.isSafeInteger(value) && (value as number) >= 0
        ? null
        : `"${name}" must be a whole number >= 0, not ${JSON.stringify(value) ?? describeType(value)}`;
    case 'id':
      return validId(value) ? null : `"${name}" must be a request id (a string or a finite number), not ${describeType(value)}`;
  }
}

function checkArgs(cmd: Command, args: Record<string, unknown>): string | null {
  const specs = COMMAND_ARGS[cmd];
  const accepted = Object.keys(specs);
  for (const name of Object.keys(args)) {
    if (!Object.prototype.hasOwnProperty.call(specs, name)) {
      const list = accepted.length === 0 ? 'it takes no arguments' : `it accepts ${accepted.map((a) => `"${a}"`).join(', ')}`;
      return `unknown argument "${name}" (${list})`;
    }
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (args[name] === undefined) {
      if (spec.required) return `missing argument "${name}"${name === 'vm' ? ' (the VM name)' : ''}`;
      continue;
    }
    const problem = checkArg(name, args[name], spec);
    if (problem !== null) return problem;
  }
  return null;
}

/** Parses and validates one request line (already framed and UTF-8 decoded). */
export function parseRequest(line: string): ParseResult {
  let message: unknown;
  try {
    message = JSON.parse(line);
  } catch (error) {
    return fail(null, undefined, 'BAD_REQUEST', `is not valid JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(message)) return fail(null, undefined, 'BAD_REQUEST', `must be a JSON object, not ${describeType(message)}`);

  const rawId = message.id;
  const id = validId(rawId) ? rawId : null;
  const cmdName = typeof message.cmd === 'string' ? message.cmd : undefined;

  if (rawId === undefined) return fail(null, cmdName, 'BAD_REQUEST', 'has no "id" (a string or a number)');
  if (id === null) {
    const why = typeof rawId === 'string' ? `longer than ${MAX_ID_LENGTH} characters` : describeType(rawId);
    return fail(null, cmdName, 'BAD_REQUEST', `has an invalid "id" (${why}); it must be a string or a finite number`);
  }
  if (message.v !== PROTOCOL_VERSION) {
    const got = message.v === undefined ? 'it is missing' : `got ${JSON.stringify(message.v)}`;
    return fail(id, cmdName, 'BAD_REQUEST', `has protocol version "v" ${PROTOCOL_VERSION} expected, ${got}`);
  }
  if (message.cmd === undefined) return fail(id, undefined, 'BAD_REQUEST', 'has no "cmd"');
  if (cmdName === undefined) return fail(id, undefined, 'BAD_REQUEST', `has a "cmd" that is ${describeType(message.cmd)}, not a string`);
  if (!isCommand(cmdName)) {
    return fail(id, cmdName, 'UNKNOWN_COMMAND', `names an unknown command; known: ${COMMANDS.join(', ')}`);
  }
  const args = message.args === undefined ? {} : message.args;
  if (!isPlainObject(args)) return fail(id, cmdName, 'BAD_REQUEST', `has "args" that is ${describeType(args)}, not an object`);
  const problem = checkArgs(cmdName, args);
  if (problem !== null) return fail(id, cmdName, 'BAD_REQUEST', problem);

  return { ok: true, request: { v: PROTOCOL_VERSION, id, cmd: cmdName, args } };
}

function fail(id: string | number | null, cmd: string | undefined, code: ErrorCode, what: string): ParseResult {
  return { ok: false, reply: errorReply(id, code, `${describeRequest(id, cmd)} ${what}`) };
}

/** The reply for a line the framing layer rejected (too long, bad UTF-8). Its id cannot be known. */
export function framingErrorReply(message: string): ReplyError {
  return errorReply(null, 'BAD_REQUEST', `request rejected: ${message}`);
}
