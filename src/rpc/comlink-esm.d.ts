/**
 * comlink's package has no "exports" map, so a bare `import 'comlink'` gets its UMD (CommonJS)
 * build, which Node must lex a second time for ESM, loading cjs-module-lexer into every VM worker
 * (~0.3 MB each). src/rpc imports the ESM build by path; this gives that path comlink's own types.
 */
declare module 'comlink/dist/esm/comlink.mjs' {
  export * from 'comlink';
}
