/** Comparing what the interaction readers return (data.arrow, data.parquet, data.fuzz tests). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ReadResult } from '../../src/data/readers.js';

/** A read as plain columns (external ids, values, the duplicate count, implicit): equal reads compare equal. */
export function readColumns(x: ReadResult): unknown {
  return {
    users: x.users.ids().map(String), items: x.items.ids().map(String), user: Array.from(x.user), item: Array.from(x.item),
    rating: Array.from(x.rating), timestamp: x.timestamp ? Array.from(x.timestamp) : null, duplicates: x.stats.duplicates, implicit: x.implicit,
  };
}

/** The read's result, or the Error it threw. */
export async function outcome(f: () => Promise<ReadResult> | ReadResult): Promise<ReadResult | Error> {
  try { return await f(); } catch (e) { return e as Error; }
}

/** A new temporary folder `tmp` and `file(name)`: a fresh numbered path in it each call. */
export function tempFiles(prefix: string): { tmp: string; file(name: string): string } {
  const tmp = mkdtempSync(path.join(tmpdir(), prefix));
  let files = 0;
  return { tmp, file: (name: string) => path.join(tmp, `${files++}-${name}`) };
}
