/** A small glob(3) for `.include(glob=true)`: `*`, `?` and `[...]` per path segment, sorted results. */
import * as fs from 'node:fs';
import * as path from 'node:path';

const MAGIC = /[*?[]/;

function segmentRegex(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i];
    if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else if (ch === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close < 0) {
        source += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, close);
      if (body.startsWith('!')) body = '^' + body.slice(1);
      source += '[' + body.replace(/\\/g, '\\\\') + ']';
      i = close;
    } else source += ch.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp('^' + source + '$');
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

export function globSync(pattern: string, cwd: string): string[] {
  const absolute = path.isAbsolute(pattern);
  const segments = pattern.split('/').filter((s, i) => s.length > 0 || i === 0);
  let bases: string[] = [absolute ? '/' : ''];
  for (const segment of segments) {
    if (segment === '') continue;
    const next: string[] = [];
    for (const base of bases) {
      if (!MAGIC.test(segment)) {
        next.push(base === '' ? segment : path.posix.join(base, segment));
        continue;
      }
      const dir = path.resolve(cwd, base === '' ? '.' : base);
      const regex = segmentRegex(segment);
      for (const entry of listDir(dir).sort()) {
        if (entry.startsWith('.') && !segment.startsWith('.')) continue;
        if (regex.test(entry)) next.push(base === '' ? entry : path.posix.join(base, entry));
      }
    }
    bases = next;
  }
  return bases.filter((candidate) => candidate !== '' && fs.existsSync(path.resolve(cwd, candidate)));
}
