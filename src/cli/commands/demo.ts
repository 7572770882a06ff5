/**
 * `affinity demo` (what `npm start` runs), on the embedded synthetic dataset:
 *  1. item-item similar items by cosine over the items' interaction vectors (denseScoreTopK);
 *  2. the batch precompute job: fit ALS, write the top-10 for every user to a JSONL file (--out, or
 *     a temporary folder that is removed when the demo ends).
 */
import type { Command } from 'commander';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { embeddedDataset } from '../../data/synthetic.js';
import { denseFrom } from '../../data/matrix.js';
import type { TopK } from '../../data/matrix.js';
import { precomputeDemo } from '../../pipeline/precompute.js';
import type { CliEdge } from '../edge.js';

export function register(program: Command, edge: CliEdge): void {
  program
    .command('demo')
    .description('similar items (cosine over interaction vectors) on the embedded synthetic dataset')
    .option('--items <n>', 'how many items to show', (v) => Number(v), 5)
    .option('--out <file>', 'where the precompute step writes its JSONL (default: a temp folder)')
    .action(async (o: { items: number; out?: string }) => {
      const ctx = edge.context();
      const t0 = performance.now();
      const data = embeddedDataset();
      const nItems = data.items.size, nUsers = data.users.size;
      // items × users dense interaction matrix (ratings as weights)
      const m = denseFrom(nItems, nUsers);
      for (let p = 0; p < data.user.length; p++) m.data[data.item[p] * nUsers + data.user[p]] = data.rating[p];
      const tData = performance.now();
      const res = await ctx.engine.runDetailed('denseScoreTopK', { queries: m, keys: m, k: 5, metric: 'cosine', excludeSelf: true }, { backend: ctx.backend });
      const top = res.out as TopK;
      console.log(`embedded dataset: ${nUsers} users × ${nItems} items, ${data.user.length} ratings (generated in ${((tData - t0) / 1000).toFixed(2)} s)`);
      console.log(`denseScoreTopK ${nItems}×${nUsers} cosine, k=5 on backend '${res.backend}' in ${res.seconds.toFixed(3)} s`);
      const show = Math.min(o.items, nItems);
      for (let i = 0; i < show; i++) {
        const parts: string[] = [];
        for (let j = 0; j < top.k; j++) {
          const id = top.ids[i * top.k + j];
          if (id >= 0) parts.push(`${data.items.external(id)} (${top.scores[i * top.k + j].toFixed(3)})`);
        }
        console.log(`  ${String(data.items.external(i)).padEnd(6)} → ${parts.join(', ')}`);
      }
      console.log('');
      // without --out the recommendations go to a temporary folder, shown and then removed
      const tmp = o.out === undefined ? mkdtempSync(path.join(os.tmpdir(), 'affinity-demo-')) : null;
      const out = o.out ?? path.join(tmp!, 'recs.jsonl');
      try {
        await precomputeDemo({ ...ctx, out });
        if (tmp) {
          const head = readFileSync(out, 'utf8').split('\n').slice(0, 2);
          console.log(`  first lines:\n${head.map((l) => `    ${l}`).join('\n')}\n  (a temporary file, now removed; \`affinity demo --out FILE\` keeps it)`);
        }
      } finally {
        if (tmp) rmSync(tmp, { recursive: true, force: true });
      }
    });
}
