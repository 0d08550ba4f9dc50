/**
 * The UCL document model. Every node remembers where it came from, so the
 * config layer can report file:line:column for any value it rejects.
 */

/** Where a node starts in its source. Lines and columns are 1-based. */
export interface UclSource {
  /** The file the node was read from (an included file, or the top-level filename option). */
  file?: string;
  line: number;
  column: number;
  /** The token's source text as written (for scalars); `4G` stays `4G` even though its value is 4e9. */
  raw: string;
  /** Set when the node is the value of an object member: the key as written and where it stands. */
  key?: { name: string; line: number; column: number };
}

export interface UclObjectNode extends UclSource {
  type: 'object';
  /** Members in insertion order. A key given several times holds an `implicit` node. */
  value: Map<string, UclNode>;
}
export interface UclArrayNode extends UclSource {
  type: 'array';
  value: UclNode[];
}
/** A key given several times in one object (libucl's implicit array). */
export interface UclImplicitNode extends UclSource {
  type: 'implicit';
  value: UclNode[];
}
export interface UclIntNode extends UclSource {
  type: 'int';
  /** int64, as libucl keeps it. */
  value: bigint;
}
export interface UclFloatNode extends UclSource {
  type: 'float';
  value: number;
}
/** A time value such as `10s`, `500ms` or `2min`, in seconds. */
export interface UclTimeNode extends UclSource {
  type: 'time';
  value: number;
}
export interface UclStringNode extends UclSource {
  type: 'string';
  value: string;
}
export interface UclBoolNode extends UclSource {
  type: 'bool';
  value: boolean;
}
export interface UclNullNode extends UclSource {
  type: 'null';
  value: null;
}

export type UclScalarNode =
  | UclIntNode
  | UclFloatNode
  | UclTimeNode
  | UclStringNode
  | UclBoolNode
  | UclNullNode;

export type UclNode = UclObjectNode | UclArrayNode | UclImplicitNode | UclScalarNode;

export interface UclParseOptions {
  /** Used in error messages, node sources, `$FILENAME`, `$CURDIR` and relative `.include` paths. */
  filename?: string;
  /** Variables for `$NAME` / `${NAME}` expansion. */
  variables?: Record<string, string>;
  /** Lowercase every object key (libucl's UCL_PARSER_KEY_LOWERCASE). */
  lowercaseKeys?: boolean;
  /**
   * Reads a file (`parseUclFile`'s, each `.include`d and `.load`ed one); throws to refuse it.
   * Default: regular files only, opened without blocking, at most 1 MiB (src/shared/safe-read.ts).
   */
  readFile?: (file: string) => Uint8Array;
  /**
   * Whether an error of readFile is a refusal that `.include(try=true)` and `.load(try=true)` must
   * report, not skip as they skip a file that is missing (vmstated: a file that is not trusted).
   * Default: none is.
   */
  isRefusal?: (error: unknown) => boolean;
}
