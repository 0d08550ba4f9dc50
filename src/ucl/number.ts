/**
 * Number recognition with libucl's rules (ucl_maybe_parse_number): decimal,
 * hex, floats, the k/m/g (x1000) and kb/mb/gb (x1024) multipliers, time
 * suffixes (ms, s, min, h, d, w, y), and the quirks that come with them — a
 * suffix only counts when a value-ending character follows it, so `10s;` is a
 * time but `10s }` is not a number at all.
 */
import { VALUE_END, WHITESPACE, charClass, hexValue, isCSpace, isDigit } from './chars.js';

export type LexedNumber =
  | { type: 'int'; value: bigint; end: number }
  | { type: 'float' | 'time'; value: number; end: number };

/** Thrown when a number does not fit (libucl: "numeric value out of range"). */
export class NumberRangeError extends Error {}

const MIN_NORMAL = 2.2250738585072014e-308;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

function atomEnd(text: string, i: number, end: number): boolean {
  return i >= end || (charClass(text.charCodeAt(i)) & VALUE_END) !== 0;
}

/** C's strtoimax(): returns the index after the digits (the start when none), or throws on overflow. */
function strtoimax(text: string, start: number, end: number, base: 10 | 16): { value: bigint; end: number } {
  let i = start;
  while (i < end && isCSpace(text.charCodeAt(i))) i++;
  let negative = false;
  if (i < end && (text[i] === '+' || text[i] === '-')) {
    negative = text[i] === '-';
    i++;
  }
  if (base === 16 && text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X') && hexValue(text.charCodeAt(i + 2)) >= 0) {
    i += 2;
  }
  const digitsStart = i;
  let value = 0n;
  while (i < end) {
    const d = base === 16 ? hexValue(text.charCodeAt(i)) : isDigit(text.charCodeAt(i)) ? text.charCodeAt(i) - 48 : -1;
    if (d < 0) break;
    value = value * BigInt(base) + BigInt(d);
    // out of range whatever follows; stopping here keeps huge digit runs linear
    if (value > INT64_MAX + 1n) throw new NumberRangeError('numeric value out of range');
    i++;
  }
  if (i === digitsStart) return { value: 0n, end: start };
  if (negative) value = -value;
  if (value > INT64_MAX || value < INT64_MIN) throw new NumberRangeError('numeric value out of range');
  return { value, end: i };
}

/** C's strtod() for decimal text, infinity and nan; returns the index after what it read. */
function strtod(text: string, start: number, end: number): { value: number; end: number } {
  let i = start;
  while (i < end && isCSpace(text.charCodeAt(i))) i++;
  const signStart = i;
  if (i < end && (text[i] === '+' || text[i] === '-')) i++;
  const rest = text.slice(i, Math.min(end, i + 8)).toLowerCase();
  const negative = text[signStart] === '-';
  if (rest.startsWith('infinity')) return { value: negative ? -Infinity : Infinity, end: i + 8 };
  if (rest.startsWith('inf')) return { value: negative ? -Infinity : Infinity, end: i + 3 };
  if (rest.startsWith('nan')) return { value: NaN, end: i + 3 };

  let digits = 0;
  let nonZero = false;
  while (i < end && isDigit(text.charCodeAt(i))) {
    if (text[i] !== '0') nonZero = true;
    i++;
    digits++;
  }
  if (text[i] === '.') {
    i++;
    while (i < end && isDigit(text.charCodeAt(i))) {
      if (text[i] !== '0') nonZero = true;
      i++;
      digits++;
    }
  }
  if (digits === 0) return { value: 0, end: start };
  if (text[i] === 'e' || text[i] === 'E') {
    let j = i + 1;
    if (text[j] === '+' || text[j] === '-') j++;
    if (j < end && isDigit(text.charCodeAt(j))) {
      while (j < end && isDigit(text.charCodeAt(j))) j++;
      i = j;
    }
  }
  const value = Number(text.slice(signStart, i).replace(/^\+/, ''));
  const magnitude = Math.abs(value);
  if (magnitude === Infinity || (nonZero && magnitude < MIN_NORMAL)) {
    throw new NumberRangeError('numeric value out of range');
  }

  return { value, end: i };
}

function multiplier(code: number, bytes: boolean): number {
  switch (code | 0x20) {
    case 0x6b: return bytes ? 1024 : 1000; // k
    case 0x6d: return bytes ? 1024 * 1024 : 1000 * 1000; // m
    case 0x67: return bytes ? 1024 * 1024 * 1024 : 1000 * 1000 * 1000; // g
    default: return 1;
  }
}

function timeMultiplier(code: number): number {
  switch (code | 0x20) {
    case 0x6d: return 60;
    case 0x68: return 60 * 60;
    case 0x64: return 60 * 60 * 24;
    case 0x77: return 60 * 60 * 24 * 7;
    case 0x79: return 60 * 60 * 24 * 365;
    default: return 1;
  }
}

function wrap64(value: bigint): bigint {
  return BigInt.asIntN(64, value);
}

/** C's (int64_t) cast of a double, with x86's answer (INT64_MIN) where C leaves it undefined. */
function toInt64(value: number): bigint {
  if (!Number.isFinite(value)) return INT64_MIN;
  const whole = BigInt(Math.trunc(value));
  return whole > INT64_MAX || whole < INT64_MIN ? INT64_MIN : whole;
}

/**
 * Tries to read a number at `start` (which holds '-' or a digit). Returns null
 * when the text is not a number (it is then read as a string).
 */
export function lexNumber(text: string, start: number, end: number, allowTime = true): LexedNumber | null {
  let p = start;
  let c = start;
  let gotDot = false;
  let gotExp = false;
  let needDouble = false;
  let isTime = false;
  let validStart = false;
  let isHex = false;
  let allowDouble = true;
  let negative = false;
  let dv = 0;
  let lv = 0n;

  if (text[p] === '-') {
    negative = true;
    c++;
    p++;
  }
  while (p < end) {
    const code = text.charCodeAt(p);
    if (isHex && hexValue(code) >= 0) {
      p++;
    } else if (isDigit(code)) {
      validStart = true;
      p++;
    } else if (!isHex && (code === 0x78 || code === 0x58)) {
      isHex = true;
      allowDouble = false;
      c = p + 1;
    } else if (allowDouble) {
      if (p === c) return null;
      if (code === 0x2e) {
        if (gotDot) return null;
        gotDot = needDouble = true;
        p++;
      } else if (code === 0x65 || code === 0x45) {
        if (gotExp) return null;
        gotExp = needDouble = true;
        p++;
        if (p >= end) return null;
        const next = text.charCodeAt(p);
        if (!isDigit(next) && next !== 0x2b && next !== 0x2d) return null;
        p++;
      } else {
        break;
      }
    } else {
      break;
    }
  }
  if (!validStart) return null;

  let endptr: number;
  if (needDouble) {
    const r = strtod(text, c, end);
    dv = r.value;
    endptr = r.end;
  } else {
    const r = strtoimax(text, c, end, isHex ? 16 : 10);
    lv = r.value;
    endptr = r.end;
  }

  const finish = (at: number): LexedNumber => {
    if (allowDouble && (needDouble || isTime)) {
      return { type: isTime ? 'time' : 'float', value: negative ? -dv : dv, end: at };
    }
    return { type: 'int', value: wrap64(negative ? -lv : lv), end: at };
  };
  const toDouble = (): void => {
    if (!needDouble) {
      needDouble = true;
      dv = Number(lv);
    }
  };

  if (atomEnd(text, endptr, end)) return finish(endptr);
  if (endptr === start) return null;

  p = endptr;
  const code = text.charCodeAt(p);
  switch (code) {
    case 0x6d: case 0x4d: case 0x67: case 0x47: case 0x6b: case 0x4b: { // m M g G k K
      if (end - p >= 2) {
        const next = text.charCodeAt(p + 1);
        if (next === 0x73 || next === 0x53) { // ms, ks, gs: a time
          toDouble();
          isTime = true;
          if (code === 0x6d || code === 0x4d) dv /= 1000;
          else dv *= multiplier(code, false);
          return finish(p + 2);
        }
        if (next === 0x62 || next === 0x42) { // kb, mb, gb: binary sizes, always integers
          if (needDouble) {
            needDouble = false;
            lv = toInt64(dv);
          }
          lv = wrap64(lv * BigInt(multiplier(code, true)));
          return finish(p + 2);
        }
        if (atomEnd(text, p + 1, end)) {
          if (needDouble) dv *= multiplier(code, false);
          else lv = wrap64(lv * BigInt(multiplier(code, false)));
          return finish(p + 1);
        }
        if (allowTime && end - p >= 3 && text.slice(p, p + 3).toLowerCase() === 'min') {
          toDouble();
          isTime = true;
          dv *= 60;
          return finish(p + 3);
        }
        return null;
      }
      if (needDouble) dv *= multiplier(code, false);
      else lv = wrap64(lv * BigInt(multiplier(code, false)));
      return finish(p + 1);
    }
    case 0x73: case 0x53: // s
      if (allowTime && (p === end - 1 || atomEnd(text, p + 1, end))) {
        toDouble();
        isTime = true;
        return finish(p + 1);
      }
      return null;
    case 0x68: case 0x48: case 0x64: case 0x44: case 0x77: case 0x57: case 0x79: case 0x59: // h d w y
      if (allowTime && (p === end - 1 || atomEnd(text, p + 1, end))) {
        toDouble();
        isTime = true;
        dv *= timeMultiplier(code);
        return finish(p + 1);
      }
      return null;
    case 0x09: case 0x20:
      while (p < end && (charClass(text.charCodeAt(p)) & WHITESPACE) !== 0) p++;
      if (atomEnd(text, p, end)) return finish(p);
      return null;
    default:
      return null;
  }
}
