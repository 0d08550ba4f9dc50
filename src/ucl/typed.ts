/** The typed JSON form of the conformance suite (shared/ucl-conformance/README.md). */
import type { UclNode } from './types.js';

export type TypedNode =
  | { t: 'object'; v: [string, TypedNode][] }
  | { t: 'implicit' | 'array'; v: TypedNode[] }
  | { t: 'int' | 'float' | 'time' | 'string'; v: string }
  | { t: 'bool'; v: boolean }
  | { t: 'null' };

/** C's printf("%.17g"), including nan, inf and -inf. */
export function formatG17(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const [mantissa, expText] = value.toExponential(16).split('e');
  const exponent = Number(expText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  let out: string;
  if (exponent < -4 || exponent >= 17) {
    const frac = digits.slice(1).replace(/0+$/, '');
    const exp = Math.abs(exponent).toString().padStart(2, '0');
    out = digits[0] + (frac ? '.' + frac : '') + 'e' + (exponent < 0 ? '-' : '+') + exp;
  } else if (exponent >= 0) {
    const intPart = digits.slice(0, exponent + 1);
    const frac = digits.slice(exponent + 1).replace(/0+$/, '');
    out = intPart + (frac ? '.' + frac : '');
  } else {
    const frac = ('0'.repeat(-exponent - 1) + digits).replace(/0+$/, '');
    out = '0.' + frac;
  }
  return negative ? '-' + out : out;
}

export function toTyped(node: UclNode): TypedNode {
  switch (node.type) {
    case 'object':
      return { t: 'object', v: [...node.value].map(([key, child]): [string, TypedNode] => [key, toTyped(child)]) };
    case 'implicit':
    case 'array':
      return { t: node.type, v: node.value.map(toTyped) };
    case 'int':
      return { t: 'int', v: node.value.toString() };
    case 'float':
    case 'time':
      return { t: node.type, v: formatG17(node.value) };
    case 'string':
      return { t: 'string', v: node.value };
    case 'bool':
      return { t: 'bool', v: node.value };
    case 'null':
      return { t: 'null' };
  }
}
