#!/usr/bin/env node
// Unused exports: a function, class or constant exported from a module of src/ that no other
// module of src/, test/ or bench/ uses and that the public entry (src/index.ts) does not export
// is dead code or a needless export. Types are not checked (an exported signature's types are
// part of the API even when no caller names them). Prints each with file:line; exits 1 on any.
//   node scripts/check-exports.mjs
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const configFile = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile);
const config = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
const program = ts.createProgram(config.fileNames, { ...config.options, noEmit: true });
const checker = program.getTypeChecker();
const sources = program.getSourceFiles().filter((f) => !f.isDeclarationFile && f.fileName.startsWith(root + path.sep) && !f.fileName.includes(`${path.sep}node_modules${path.sep}`));
const entry = sources.find((f) => f.fileName === path.join(root, 'src', 'index.ts'));

const original = (s) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
const VALUE = ts.SymbolFlags.Function | ts.SymbolFlags.Class | ts.SymbolFlags.Variable | ts.SymbolFlags.Enum;

// entry points loaded by file name, not imported: the pool worker's task function (Piscina)
const ENTRIES = new Set([`${path.join('src', 'engine', 'worker.ts')}:default`]);

const publicApi = new Set(checker.getExportsOfModule(checker.getSymbolAtLocation(entry)).map(original));

// every symbol some file uses from another file
const usedElsewhere = new Set();
for (const sf of sources) {
  const visit = (node) => {
    if (ts.isIdentifier(node)) {
      const s = checker.getSymbolAtLocation(node);
      if (s) {
        const o = original(s);
        if (o.declarations?.some((d) => d.getSourceFile() !== sf)) usedElsewhere.add(o);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}

const unused = [];
for (const sf of sources) {
  if (!sf.fileName.startsWith(path.join(root, 'src') + path.sep) || sf === entry) continue;
  const mod = checker.getSymbolAtLocation(sf);
  if (!mod) continue;
  for (const exp of checker.getExportsOfModule(mod)) {
    const s = original(exp);
    if (!(s.flags & VALUE) || publicApi.has(s) || usedElsewhere.has(s)) continue;
    const decl = s.declarations?.[0];
    if (!decl || decl.getSourceFile() !== sf) continue; // a re-export: judged where it is declared
    if (ENTRIES.has(`${path.relative(root, sf.fileName)}:${s.name}`)) continue;
    const { line } = sf.getLineAndCharacterOfPosition(decl.getStart());
    unused.push(`${path.relative(root, sf.fileName)}:${line + 1}: '${s.name}' is exported but used by no other module and not public`);
  }
}

if (unused.length) {
  for (const u of unused) console.error(`check-exports: ${u}`);
  console.error(`check-exports: ${unused.length} unused export(s)`);
  process.exit(1);
}
console.log(`check-exports: every exported function, class and constant of src/ is public or used by another module`);
