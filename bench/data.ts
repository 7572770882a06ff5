/**
 * Bench inputs, built once per process and shared by the cases that need them:
 * - ML-100k: `${AFFINITY_DATA_DIR ?? ../shared/data}/ml-100k/u.data.gz` when present (read in
 *   place, never copied into the repo), else a seeded synthetic stand-in of the same shape
 *   (943 users × 1682 items × 100,000 ratings), and the note says which;
 * - the synthetic 138k × 27k × 20M matrix (ML-20M-shaped, full suite only).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readInteractions } from '../src/data/readers.js';
import { generateInteractions } from '../src/data/synthetic.js';
import { toCsr, type Interactions } from '../src/data/interactions.js';
import type { Csr } from '../src/data/matrix.js';
import { transposeCsr } from '../src/data/csrBuild.js';

export interface BenchData {
  x: Interactions;
  /** users × items ratings */
  userItems: Csr;
  /** items × users ratings */
  itemUsers: Csr;
  /** where the data came from, for the records' notes */
  source: string;
}

/** The repository root (dist/bench/ → ../..; bench/ under ts-node-like runners → ..). */
export function repoRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.basename(path.dirname(here)) === 'dist' ? path.resolve(here, '..', '..') : path.resolve(here, '..');
}

export function ml100kPath(): string {
  const dir = process.env.AFFINITY_DATA_DIR ?? path.join(repoRoot(), '..', 'shared', 'data');
  return path.join(dir, 'ml-100k', 'u.data.gz');
}

function withMatrices(x: Interactions, source: string): BenchData {
  const userItems = toCsr(x, 'user');
  return { x, userItems, itemUsers: transposeCsr(userItems), source };
}

let ml100k: Promise<BenchData> | null = null;

/** ML-100k, or its synthetic stand-in. */
export function loadMl100k(): Promise<BenchData> {
  ml100k ??= (async () => {
    const file = ml100kPath();
    if (existsSync(file)) {
      const x = await readInteractions(file, { duplicates: 'error' });
      return withMatrices(x, 'ML-100k u.data');
    }
    const x = generateInteractions({ users: 943, items: 1682, interactions: 100_000, explicit: true, seed: 100 });
    return withMatrices(x, `synthetic ML-100k stand-in (no ${file})`);
  })();
  return ml100k;
}

export const LARGE = { users: 138_000, items: 27_000, interactions: 20_000_000 } as const;

let large: Promise<BenchData> | null = null;

/** The synthetic 138k × 27k × 20M ratings matrix (Zipf item popularity, seeded). Takes ~20 s and ~1 GiB. */
export function loadLarge(): Promise<BenchData> {
  large ??= (async () => {
    const x = generateInteractions({ ...LARGE, explicit: true, seed: 20 });
    return withMatrices(x, 'synthetic 138k×27k×20M (generateInteractions, zipf 1, seed 20)');
  })();
  return large;
}

/** Synthetic data of a given shape (the --size cases and the small cases). */
export function syntheticData(users: number, items: number, interactions: number, seed: number): BenchData {
  const x = generateInteractions({ users, items, interactions, explicit: true, seed });
  return withMatrices(x, `synthetic ${users}×${items}×${interactions}`);
}

/** The first n rows of m, sharing its arrays (a valid smaller problem for row-wise kernels). */
export function firstRows(m: Csr, n: number): Csr {
  const rows = Math.min(n, m.rows);
  return { rows, cols: m.cols, indptr: m.indptr.subarray(0, rows + 1), indices: m.indices, data: m.data };
}
