/**
 * Reading one config value from its UCL node, strictly: a value of the wrong type is reported at
 * its position and yields undefined.
 */
import path from 'node:path';
import type { UclNode } from '../ucl/types.js';
import { KIND, type ProblemList, valuePosition } from './problems.js';

/** What a value is, for a message: `the string "two"`, `the number 2.5`, `an object`. */
export function describe(node: UclNode): string {
  switch (node.type) {
    case 'string':
      return `the string ${JSON.stringify(node.value)}`;
    case 'int':
    case 'float':
      return `the number ${node.raw || String(node.value)}`;
    case 'time':
      return `the time ${node.raw || `${node.value}s`}`;
    case 'bool':
      return node.raw || String(node.value);
    case 'null':
      return 'null';
    case 'object':
      return 'an object';
    case 'array':
      return 'a list';
    case 'implicit':
      return 'several values';
  }
}

/** UCL's size suffixes on a number: `2k` is 2000, `2m` is 2000000, `2kb` is 2048. */
const SIZE_SUFFIX = /^[+-]?[0-9.]+[kmg]b?$/i;

function rawText(node: UclNode): string {
  return (node.raw || String(node.value)).trim();
}

export interface IntRange {
  min: number;
  max: number;
}

/** Any integer a JavaScript number holds exactly. */
export const ANY_INTEGER: IntRange = { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER };

function describeRange(range: IntRange): string {
  if (range.min === ANY_INTEGER.min) return 'an integer';
  if (range.max === ANY_INTEGER.max) return `an integer of at least ${range.min}`;
  return `an integer from ${range.min} to ${range.max}`;
}

/** An integer written as a plain number (not `2k`), within `range`. */
export function readInteger(node: UclNode, key: string, range: IntRange, problems: ProblemList): number | undefined {
  if (node.type !== 'int' || SIZE_SUFFIX.test(rawText(node))) {
    problems.error(valuePosition(node), `${key} must be ${describeRange(range)}, not ${describe(node)}`, KIND.value);
    return undefined;
  }
  if (node.value < BigInt(range.min) || node.value > BigInt(range.max)) {
    problems.error(valuePosition(node), `${key} must be ${describeRange(range)}, not ${node.value}`, KIND.value);
    return undefined;
  }
  return Number(node.value);
}

export interface DurationRule {
  /** 0 is allowed (otherwise the duration must be positive). */
  allowZero: boolean;
}

/** Seconds: a plain number, or a UCL time such as `500ms`, `30s`, `2min`. */
export function readDuration(node: UclNode, key: string, rule: DurationRule, problems: ProblemList): number | undefined {
  const wanted = 'a duration in seconds (a number, or a time such as 500ms, 30s or 2min)';
  let seconds: number;
  if (node.type === 'time' || node.type === 'float') {
    seconds = node.value;
  } else if (node.type === 'int') {
    const raw = rawText(node);
    if (SIZE_SUFFIX.test(raw)) {
      problems.error(valuePosition(node),
        `${key} = ${raw} is not a time: UCL reads ${raw} as the number ${node.value} (k, m and g are ` +
        `size multipliers); write seconds, or a time such as 30s, 2min or 500ms`, KIND.value);
      return undefined;
    }
    seconds = Number(node.value);
  } else {
    problems.error(valuePosition(node), `${key} must be ${wanted}, not ${describe(node)}`, KIND.value);
    return undefined;
  }
  if (!Number.isFinite(seconds) || seconds < 0 || (seconds === 0 && !rule.allowZero)) {
    const bound = rule.allowZero ? 'zero or more' : 'more than zero';
    problems.error(valuePosition(node), `${key} must be ${bound} seconds, not ${rawText(node)}`, KIND.value);
    return undefined;
  }
  return seconds;
}

const QUOTED_BOOLEAN = /^(true|false|yes|no|on|off)$/i;

/** A UCL boolean: true/false, yes/no, on/off, unquoted. */
export function readBoolean(node: UclNode, key: string, problems: ProblemList): boolean | undefined {
  if (node.type === 'bool') return node.value;
  const hint = node.type === 'string' && QUOTED_BOOLEAN.test(node.value) ? ' (write it without quotes)' : '';
  problems.error(valuePosition(node), `${key} must be true or false, not ${describe(node)}${hint}`, KIND.value);
  return undefined;
}

/** Free text. A plain number (`osversion = 14.1`) is taken as written. */
export function readText(node: UclNode, key: string, problems: ProblemList): string | undefined {
  if (node.type === 'string') return node.value;
  if ((node.type === 'int' || node.type === 'float') && !SIZE_SUFFIX.test(rawText(node))) return rawText(node);
  problems.error(valuePosition(node), `${key} must be a string, not ${describe(node)}`, KIND.value);
  return undefined;
}

/** A file or directory path; a relative one is relative to `dir`. */
export function readPath(node: UclNode, key: string, dir: string, problems: ProblemList): string | undefined {
  if (node.type !== 'string') {
    problems.error(valuePosition(node), `${key} must be a path (a string), not ${describe(node)}`, KIND.value);
    return undefined;
  }
  if (node.value === '') {
    problems.error(valuePosition(node), `${key} is empty: it must name a path`, KIND.value);
    return undefined;
  }
  if (/[\n\r\0]/.test(node.value)) {
    problems.error(valuePosition(node), `${key} must not contain a line break or NUL character`, KIND.value);
    return undefined;
  }
  return path.resolve(dir, node.value);
}

const MIB_PER_UNIT: Record<string, bigint> = { m: 1n, g: 1024n, t: 1024n * 1024n };
/** A plain number above this many MiB is surely meant as bytes (bhyve would read it so too). */
const MAX_PLAIN_MIB = 1024n * 1024n;

/**
 * Guest memory in MiB. A plain number is MiB; a size with a unit (`4G`, `512M`, `1024K`, `1T`,
 * optionally followed by `B` or `iB`, any case, quoted or not) uses bhyve's binary units. The
 * unquoted form is read from the token's source text, because UCL turns `4G` into 4000000000.
 */
export function readMemory(node: UclNode, problems: ProblemList): number | undefined {
  let text: string;
  if (node.type === 'string') text = node.value.trim();
  else if (node.type === 'int') text = rawText(node);
  else {
    problems.error(valuePosition(node), `memory must be a size such as 4G or 512M, or a number of MiB, not ${describe(node)}`, KIND.value);
    return undefined;
  }
  const match = /^(\d+)(?:([kmgt])(?:i?b)?)?$/i.exec(text);
  if (!match) {
    problems.error(valuePosition(node),
      `memory must be a whole number of MiB or a size such as 4G, 512M or 1024K, not ${JSON.stringify(text)}`, KIND.value);
    return undefined;
  }
  const amount = BigInt(match[1]!);
  const unit = match[2]?.toLowerCase();
  let mib: bigint;
  if (unit === undefined) {
    if (amount > MAX_PLAIN_MIB) {
      problems.error(valuePosition(node),
        `memory = ${text} would be ${amount} MiB (a plain number is in MiB); write the size with a unit, such as 4G`, KIND.value);
      return undefined;
    }
    mib = amount;
  } else if (unit === 'k') {
    if (amount % 1024n !== 0n) {
      problems.error(valuePosition(node), `memory = ${text} is not a whole number of MiB (1024K = 1M)`, KIND.value);
      return undefined;
    }
    mib = amount / 1024n;
  } else {
    mib = amount * MIB_PER_UNIT[unit]!;
  }
  if (mib < 1n || mib > BigInt(Number.MAX_SAFE_INTEGER)) {
    problems.error(valuePosition(node), `memory must be at least 1M, not ${text}`, KIND.value);
    return undefined;
  }
  return Number(mib);
}
