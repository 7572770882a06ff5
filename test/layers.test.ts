/**
 * The import graph follows the layer order (scripts/check-layers.mjs): the real tree passes, and a
 * tree with an upward import, a cycle or a computed import specifier fails, naming the file and line.
 * No dead exports (scripts/check-exports.mjs).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = path.join(root, 'scripts', 'check-layers.mjs');

function check(dir: string): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [script, '--root', dir], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'affinity-layers-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

test('this repository: no upward import, no cycle', () => {
  const r = check(root);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /no upward import, no cycle/);
});

test('this repository: every exported function, class and constant is public or used by another module', () => {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'check-exports.mjs')], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stdout + r.stderr);
});

test('an upward import, a cycle and a computed specifier are each reported with file and line', () => {
  const dir = tree({
    'src/data/a.ts': "import { x } from '../engine/e.js';\nexport const a = x;\n",
    'src/engine/e.ts': 'export const x = 1;\n',
    'src/models/m1.ts': "import type { M2 } from './m2.js';\nexport type M1 = M2 | 1;\n",
    'src/models/m2.ts': "import { y } from './m1.js';\nexport type M2 = 2;\nexport const z = y;\n",
    'src/pipeline/p.ts': "const name = './q.js';\nexport const q = () => import(name);\n",
    'bench/b.ts': "import { a } from '../src/data/a.js';\nexport const b = a;\n",
  });
  try {
    const r = check(dir);
    assert.is(r.code, 1);
    assert.match(r.out, /src\/data\/a\.ts:1: upward import of '\.\.\/engine\/e\.js' \(layer data → engine\)/);
    assert.match(r.out, /import cycle of 2 modules/);
    assert.match(r.out, /src\/models\/m1\.ts:1 → src\/models\/m2\.ts/);
    assert.match(r.out, /src\/pipeline\/p\.ts:2: import\(name\) with a computed specifier/);
    assert.not.match(r.out, /bench\/b\.ts/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
