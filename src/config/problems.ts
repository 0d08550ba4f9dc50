/** Collecting config problems with their positions. */
import type { UclNode } from '../ucl/types.js';
import type { ConfigProblem, ProblemSeverity } from './types.js';

/** A place in a config file. `file` is absent when it is the file being read. */
export interface Position {
  file?: string;
  line: number;
  column: number;
}

/** Problem kinds (ConfigProblem.kind): fixed words, never a file's content. */
export const KIND = {
  syntax: 'UCL syntax error',
  unreadable: 'cannot read file',
  internal: 'internal error',
  vmDefinition: 'invalid VM definition',
  vmName: 'invalid VM name',
  duplicateName: 'duplicate VM name',
  unknownKey: 'unknown key',
  duplicateKey: 'duplicate key',
  missingKey: 'missing key',
  value: 'invalid value',
  topology: 'CPU topology mismatch',
  account: 'unknown user or group',
  bhyveConfig: 'bhyve config error',
  bootrom: 'boot ROM missing or unusable',
  scriptpath: 'scriptpath is not a directory',
  hook: 'hook not executable',
  other: 'config error',
} as const;

/** The problems of one config file. */
export class ProblemList {
  readonly items: ConfigProblem[] = [];
  /** The VM name, once known; stamped on every problem when the file is done. */
  vm?: string;

  constructor(readonly file: string) {}

  error(at: Position, message: string, kind: string = KIND.other): void {
    this.add('error', at, message, kind);
  }

  warn(at: Position, message: string, kind: string = KIND.other): void {
    this.add('warning', at, message, kind);
  }

  get errorCount(): number {
    return this.items.filter((p) => p.severity === 'error').length;
  }

  /** The problems in source order, each tagged with the VM name when it is known. */
  finish(): ConfigProblem[] {
    const vm = this.vm;
    const fileOrder = new Map<string, number>([[this.file, 0]]);
    for (const p of this.items) if (!fileOrder.has(p.file)) fileOrder.set(p.file, fileOrder.size);
    const rank = (p: ConfigProblem): number => fileOrder.get(p.file) ?? 0;
    const sorted = [...this.items].sort((a, b) => rank(a) - rank(b) || a.line - b.line || a.column - b.column);
    return vm === undefined ? sorted : sorted.map((p) => ({ ...p, vm }));
  }

  private add(severity: ProblemSeverity, at: Position, message: string, kind: string): void {
    this.items.push({ severity, file: at.file ?? this.file, line: at.line, column: at.column, message, kind });
  }
}

/** Where a value stands. */
export function valuePosition(node: UclNode): Position {
  return { file: node.file, line: node.line, column: node.column };
}

/** Where the key of an object member stands (the value's position when it has no key). */
export function keyPosition(node: UclNode): Position {
  return node.key ? { file: node.file, line: node.key.line, column: node.key.column } : valuePosition(node);
}

/** The whole file (it cannot be read, or it is not a position in it). */
export const WHOLE_FILE: Position = { line: 0, column: 0 };
