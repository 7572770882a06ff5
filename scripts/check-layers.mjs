#!/usr/bin/env node
// The import graph of src/ against the layer order (ARCHITECTURE.md):
//   data → kernels → backends → engine → nn → models → eval · explore · pipeline → cli · bench/ → index.ts
// A module may import from its own layer or a lower one, never a higher one; and no cycle of
// modules (type-only imports count: a type-level loop couples layers as much as a runtime one).
// Prints every violation with the import that causes it and exits 1 on any; else prints a summary.
//   node scripts/check-layers.mjs [--root DIR]
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const rootArg = process.argv.indexOf('--root');
const root = path.resolve(rootArg > 0 ? process.argv[rootArg + 1] : path.join(here, '..'));
const src = path.join(root, 'src');
const bench = path.join(root, 'bench');

/** Layer rank of each top-level folder of src/; the same rank may import each other (acyclically). */
const LAYERS = [['data'], ['kernels'], ['backends'], ['engine'], ['nn'], ['models'], ['eval', 'explore', 'pipeline'], ['cli', 'bench/'], ['index.ts']];
const rankOf = new Map(LAYERS.flatMap((names, rank) => names.map((n) => [n, rank])));

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return walk(p);
    return p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

// static imports/exports (`import x from '…'`, `import type {…} from '…'`, `export * from '…'`) and import('…')
const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file) {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
  const out = [];
  // import(variable) hides an edge from this check (and from every reader): name the module literally.
  // The one exception loads a plugin backend a user registered by URL: its module is not ours to name.
  const pluginLoader = path.relative(root, file) === path.join('src', 'engine', 'worker.ts');
  for (const m of pluginLoader ? [] : text.matchAll(/\bimport\(\s*(?!['"])([^)]*)\)/g)) {
    const line = text.slice(0, m.index).split('\n').length;
    hidden.push(`${path.relative(root, file)}:${line}: import(${m[1].trim()}) with a computed specifier hides an import edge; import the module by its literal path`);
  }
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith('.')) continue; // packages and node: builtins
    const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'));
    const line = text.slice(0, m.index).split('\n').length + (m[0].startsWith('\n') ? 1 : 0);
    out.push({ target, spec, line });
  }
  return out;
}

function layerOf(file) {
  if (!path.relative(bench, file).startsWith('..')) return rankOf.get('bench/');
  const rel = path.relative(src, file);
  const top = rel.split(path.sep)[0];
  return rankOf.get(top) ?? null;
}

const hidden = [];
const files = [...walk(src), ...walk(bench)];
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const violations = [...hidden];
let edges = 0;

for (const [file, imps] of graph) {
  const from = layerOf(file);
  if (from === null) violations.push(`${path.relative(root, file)}: not in any layer (add its folder to LAYERS in scripts/check-layers.mjs)`);
  for (const { target, spec, line } of imps) {
    edges++;
    if (!graph.has(target)) { violations.push(`${path.relative(root, file)}:${line}: imports '${spec}', which is not a module of src/ or bench/`); continue; }
    const to = layerOf(target);
    if (from !== null && to !== null && to > from) {
      violations.push(`${path.relative(root, file)}:${line}: upward import of '${spec}' (layer ${LAYERS[from].join('/')} → ${LAYERS[to].join('/')})`);
    }
  }
}

// cycles: strongly connected components of more than one module (Tarjan), or a module importing itself
let index = 0;
const idx = new Map(), low = new Map(), onStack = new Set(), stack = [];
function strongConnect(v) {
  idx.set(v, index); low.set(v, index); index++;
  stack.push(v); onStack.add(v);
  for (const { target: w } of graph.get(v)) {
    if (!graph.has(w)) continue;
    if (!idx.has(w)) { strongConnect(w); low.set(v, Math.min(low.get(v), low.get(w))); }
    else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do { w = stack.pop(); onStack.delete(w); comp.push(w); } while (w !== v);
    const selfLoop = comp.length === 1 && graph.get(v).some((e) => e.target === v);
    if (comp.length > 1 || selfLoop) {
      const inComp = new Set(comp);
      const links = comp.flatMap((a) => graph.get(a).filter((e) => inComp.has(e.target)).map((e) => `${path.relative(root, a)}:${e.line} → ${path.relative(root, e.target)}`));
      violations.push(`import cycle of ${comp.length} modules:\n    ${links.join('\n    ')}`);
    }
  }
}
for (const f of files) if (!idx.has(f)) strongConnect(f);

if (violations.length) {
  for (const v of violations) console.error(`check-layers: ${v}`);
  console.error(`check-layers: ${violations.length} violation(s) in ${files.length} modules`);
  process.exit(1);
}
console.log(`check-layers: ${files.length} modules of src/ and bench/, ${edges} imports, layers ${LAYERS.map((l) => l.join('/')).join(' → ')}: no upward import, no cycle`);
