/**
 * The parser's working tree. It differs from the public model in what libucl
 * needs while parsing: every node carries a priority and an "inherited" mark,
 * and an object member holds a list (more than one entry = implicit array).
 */
import type { UclNode, UclObjectNode, UclSource } from './types.js';

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

function source(node: PNode): UclSource {
  const src: UclSource = { line: node.pos.line, column: node.pos.column, raw: node.raw };
  if (node.pos.file !== undefined) src.file = node.pos.file;
  if (node.key) src.key = { ...node.key };
  return src;
}

/** Converts the working tree into the public node model. */
export function toPublic(node: PNode): UclNode {
  const src = source(node);
  switch (node.type) {
    case 'object': {
      const value = new Map<string, UclNode>();
      for (const [name, list] of node.members ?? []) {
        if (list.length === 1) {
          value.set(name, toPublic(list[0]));
        } else {
          value.set(name, { ...source(list[0]), raw: '', type: 'implicit', value: list.map(toPublic) });
        }
      }
      return { ...src, type: 'object', value } satisfies UclObjectNode;
    }
    case 'array':
      return { ...src, type: 'array', value: (node.items ?? []).map(toPublic) };
    case 'int':
      return { ...src, type: 'int', value: node.scalar as bigint };
    case 'float':
    case 'time':
      return { ...src, type: node.type, value: node.scalar as number };
    case 'string':
      return { ...src, type: 'string', value: node.scalar as string };
    case 'bool':
      return { ...src, type: 'bool', value: node.scalar as boolean };
    default:
      return { ...src, type: 'null', value: null };
  }
}
