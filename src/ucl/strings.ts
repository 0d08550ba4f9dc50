/** String unescaping and `$VARIABLE` expansion with libucl's rules. */
import { hexValue } from './chars.js';

/** Undoes JSON escapes (`\n`, `\uXXXX`, ...). Unknown escapes yield the escaped character. */
export function unescapeJson(text: string): string {
  let out = '';
  let runStart = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    if (text.charCodeAt(i) !== 0x5c) {
      i++;
      continue;
    }
    out += text.slice(runStart, i);
    if (i + 1 >= n) {
      out += '\\';
      i = n;
      runStart = n;
      break;
    }
    const escaped = text[i + 1];
    switch (escaped) {
      case 'n': out += '\n'; i += 2; break;
      case 'r': out += '\r'; i += 2; break;
      case 'b': out += '\b'; i += 2; break;
      case 't': out += '\t'; i += 2; break;
      case 'f': out += '\f'; i += 2; break;
      case 'u': {
        // libucl decodes when three or more characters follow the 'u' (a missing fourth reads as a non-digit)
        if (n - (i + 2) >= 3) {
          let value = 0;
          for (let k = 0; k < 4; k++) {
            value *= 16;
            const digit = hexValue(text.charCodeAt(i + 2 + k));
            if (digit < 0) break;
            value += digit;
          }
          out += String.fromCharCode(value & 0xffff);
          i += 6;
        } else {
          out += 'u';
          i = Math.min(n, i + 3);
        }
        break;
      }
      default: out += escaped; i += 2; break;
    }
    runStart = i;
  }
  return out + text.slice(runStart);
}

/** Undoes single-quote escapes: only `\'` and backslash-newline mean something. */
export function unescapeSquoted(text: string): string {
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i];
    if (ch !== '\\') {
      out += ch;
      i++;
      continue;
    }
    if (i + 1 >= n) {
      out += '\\';
      break;
    }
    const next = text[i + 1];
    if (next === "'") {
      out += "'";
    } else if (next === '\n') {
      // a backslash-newline joins lines
    } else if (next === '\r') {
      if (text[i + 2] === '\n') i++;
    } else {
      out += '\\' + next;
    }
    i += 2;
  }
  return out;
}

/** Escapes what JSON cannot hold raw (the `.load` macro's escape option). */
export function escapeJsonUnsafe(text: string): string {
  return text.replace(/[\n\r\b\t\f\\"]/g, (ch) => {
    switch (ch) {
      case '\n': return '\\n';
      case '\r': return '\\r';
      case '\b': return '\\b';
      case '\t': return '\\t';
      case '\f': return '\\f';
      case '\\': return '\\\\';
      default: return '\\"';
    }
  });
}

export type Variables = ReadonlyMap<string, string>;

function findPrefixVariable(text: string, at: number, limit: number, vars: Variables): string | undefined {
  for (const name of vars.keys()) {
    if (name.length <= limit - at && text.startsWith(name, at)) return name;
  }
  return undefined;
}

/** libucl first checks whether anything would expand; when nothing does the text stays as is ($$ included). */
function anyVariable(text: string, vars: Variables): boolean {
  const end = text.length;
  let p = 0;
  let close = -1; // the next '}' at or after the current position, found once per stretch
  let longest = 0;
  for (const name of vars.keys()) longest = Math.max(longest, name.length);
  while (p < end) {
    if (text.charCodeAt(p) !== 0x24) {
      p++;
      continue;
    }
    const at = p + 1;
    if (text[at] === '{') {
      if (close !== -2 && close <= at) close = text.indexOf('}', at + 1);
      if (close === -1) close = -2; // none left anywhere
      if (close >= 0 && close - at - 1 <= longest && vars.has(text.slice(at + 1, close))) return true;
      p = close >= 0 ? at + 1 : at;
      continue;
    }
    if (text[at] === '$') {
      p = at + 1;
      continue;
    }
    if (at < end && findPrefixVariable(text, at, end, vars) !== undefined) return true;
    p = at;
  }
  return false;
}

/** Expands `$NAME`, `${NAME}` and `$$` the way libucl does, quirks included. */
export function expandVariables(text: string, vars: Variables): string {
  if (text.indexOf('$') < 0 || !anyVariable(text, vars)) return text;
  const end = text.length;
  let out = '';
  let p = 0;
  while (p < end) {
    const dollar = text.indexOf('$', p);
    if (dollar < 0) {
      out += text.slice(p);
      break;
    }
    out += text.slice(p, dollar);
    const next = dollar + 1;
    if (text[next] === '$') {
      out += '$';
      p = next + 1;
      continue;
    }
    const strict = text[next] === '{';
    const nameAt = strict ? next + 1 : next;
    const name = findPrefixVariable(text, nameAt, end, vars);
    if (name !== undefined) {
      out += vars.get(name);
      // for ${NAME} libucl skips one character after the name, whatever it is
      p = Math.min(end, nameAt + name.length + (strict ? 1 : 0));
    } else if (strict) {
      out += '${';
      p = nameAt;
    } else {
      out += '$';
      p = next;
    }
  }
  return out;
}
