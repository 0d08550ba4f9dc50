/**
 * Character classes as libucl's parser sees them. Code points >= 0x80 (any
 * non-ASCII character) behave like libucl's high bytes: they may start and
 * continue keys and appear in values.
 */
export const WHITESPACE = 1; // space, tab
export const WHITESPACE_UNSAFE = 2; // also newlines, \v, \f
export const VALUE_END = 4; // characters that end an unquoted value
export const KEY_START = 8;
export const KEY = 16;
export const KEY_SEP = 32;
export const DIGIT_START = 64;
export const ESCAPE = 128; // characters allowed after a backslash in a JSON string

const table = new Uint8Array(128);

function mark(chars: string, flags: number): void {
  for (const ch of chars) table[ch.charCodeAt(0)] |= flags;
}

table[0] = VALUE_END;
table[9] = WHITESPACE | WHITESPACE_UNSAFE | KEY_SEP;
table[10] = WHITESPACE_UNSAFE | VALUE_END;
table[11] = WHITESPACE_UNSAFE;
table[12] = WHITESPACE_UNSAFE;
table[13] = WHITESPACE_UNSAFE | VALUE_END;
table[32] = WHITESPACE | WHITESPACE_UNSAFE | KEY_SEP;
mark('#,;]}', VALUE_END);
mark('=:', KEY_SEP);
mark('-', KEY | DIGIT_START);
mark('.', KEY);
mark('/_', KEY_START | KEY);
mark('0123456789', KEY_START | KEY | DIGIT_START);
mark('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ', KEY_START | KEY);
mark('"\\/bfnrtu', ESCAPE);

export function charClass(code: number): number {
  if (Number.isNaN(code)) return VALUE_END; // past the end of the text reads like C's terminating NUL
  return code < 128 ? table[code] : KEY_START | KEY;
}

export function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

export function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

/** C's isspace() in the C locale. */
export function isCSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13);
}

/** ASCII-only lowercasing, like C's tolower() in the C locale. */
export function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}
