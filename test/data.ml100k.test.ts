import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readInteractions } from '../src/data/index.js';
import { testOrSkip } from './helpers/skip.js';

// compiled to dist/test/: the repo root is two levels up; the data lives beside the repo, never in it
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = process.env.AFFINITY_DATA_DIR ?? path.join(root, '..', 'shared', 'data');
const file = path.join(dataDir, 'ml-100k', 'u.data.gz');
const ml100k = testOrSkip(test, existsSync(file) ? null : `${file} not found (set AFFINITY_DATA_DIR)`);

ml100k('MovieLens 100K u.data.gz: detected as gzip TSV without header; 100,000 ratings, 943 users, 1,682 items', async () => {
  const x = await readInteractions(file, { duplicates: 'error' });
  assert.is(x.user.length, 100000);
  assert.is(x.users.size, 943);
  assert.is(x.items.size, 1682);
  assert.is(x.stats.lines, 100000);
  assert.is(x.stats.duplicates, 0);
  assert.ok(x.timestamp instanceof Float64Array);
  let lo = Infinity, hi = -Infinity;
  for (const r of x.rating) { lo = Math.min(lo, r); hi = Math.max(hi, r); }
  assert.is(lo, 1);
  assert.is(hi, 5);
});

test.run();
