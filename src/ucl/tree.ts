/**
 * The parser's working tree. It differs from the public model in what libucl
 * needs while parsing: every node carries a priority and an "inherited" mark,
 * and an object member holds a list (more than one entry = implicit array).
 */
import type { UclNode, UclSource } from './types.js';

export type PType = 'object' | 'array' | 'int' | 'float' | 'time' | 'string' | 'bool' | 'null';

export interface SourcePos {
  file?: string;
  line: number;
  column: number;
}

export class PNode {
  type: PType = 'null';
  members: Map<string, PNode[]> | null = null;
  items: PNode[] | null = null;
  scalar: bigint | number | string | boolean | null = null;
  inherited = false;
  raw = '';
  key?: { name: string; line: number; column: number };

  constructor(public priority: number, public pos: SourcePos) {}

  setScalar(type: PType, value: bigint | number | string | boolean | null, raw: string, pos: SourcePos): void {
    this.type = type;
    this.scalar = value;
    this.members = null;
    this.items = null;
    this.raw = raw;
    this.pos = pos;
  }

  /** A deep copy (libucl's ucl_object_copy), used by `.inherit`. */
  copy(): PNode {
    const twin = new PNode(this.priority, this.pos);
    twin.type = this.type;
    twin.scalar = this.scalar;
    twin.raw = this.raw;
    twin.inherited = this.inherited;
    if (this.key) twin.key = { ...this.key };
    if (this.items) twin.items = this.items.map((item) => item.copy());
    if (this.members) {
      twin.members = new Map();
      for (const [name, list] of this.members) twin.members.set(name, list.map((member) => member.copy()));
    }
    return twin;
  }
}

/** Builds a public node; written without spreads because large documents make millions of these. */
function publicNode(node: PNode, type: UclNode['type'], value: UclNode['value'], raw: string): UclNode {
  const out = { type, value, line: node.pos.line, column: node.pos.column, raw } as UclSource & { type: string; value: unknown };
  if (node.pos.file !== undefined) out.file = node.pos.file;
  if (node.key) out.key = node.key;
  return out as UclNode;
}

/** Converts the working tree into the public node model. */
export function toPublic(node: PNode): UclNode {
  switch (node.type) {
    case 'object': {
      const value = new Map<string, UclNode>();
      for (const [name, list] of node.members ?? []) {
        value.set(name, list.length === 1 ? toPublic(list[0]) : publicNode(list[0], 'implicit', list.map(toPublic), ''));
      }
      return publicNode(node, 'object', value, node.raw);
    }
    case 'array':
      return publicNode(node, 'array', (node.items ?? []).map(toPublic), node.raw);
    case 'null':
      return publicNode(node, 'null', null, node.raw);
    default:
      return publicNode(node, node.type, node.scalar as UclNode['value'], node.raw);
  }
}
