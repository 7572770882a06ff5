/**
 * `affinity recommend --model-file m.affm --user ID[,ID…] [--k 10] [--include-seen] [--json]`
 *
 * Top-k items for users of a model saved by `affinity fit` (or a factor model's save()), with
 * external ids. Text: one block per user, `rank item score`; --json: one line per user,
 * {"user": id, "items": [...], "scores": [...]} (precompute's JSONL schema).
 */
import type { Command } from 'commander';
import { loadModel } from '../../models/modelFile.js';
import { float32Text } from '../../data/csvLine.js';
import { positiveInt, UsageError } from '../args.js';
import type { CliEdge } from '../edge.js';

export function register(program: Command, edge: CliEdge): void {
  program
    .command('recommend')
    .description('top-k items for users of a saved model (affinity fit --out FILE)')
    .requiredOption('--model-file <file>', 'a model saved by `affinity fit`')
    .requiredOption('--user <ids>', 'user id(s) as in the training data, comma-separated')
    .option('--k <n>', 'items per user', positiveInt('--k'), 10)
    .option('--include-seen', 'also recommend items the user interacted with in training')
    .option('--json', 'one JSON line per user: {"user", "items", "scores"}')
    .action(async (o: { modelFile: string; user: string; k: number; includeSeen?: boolean; json?: boolean }) => {
      const ids = o.user.split(',').map((s) => s.trim()).filter(Boolean);
      if (!ids.length) throw new UsageError('--user is empty');
      const ctx = edge.context();
      const loaded = await loadModel(o.modelFile, ctx);
      for (const id of ids) {
        const u = loaded.users.index(id) ?? loaded.users.index(Number(id));
        if (u === undefined) throw new UsageError(`user '${id}' is not in ${o.modelFile} (${loaded.users.size} users; ids as in the training data)`);
        const r = loaded.model.recommend(u, o.k, { ...ctx, filterSeen: !o.includeSeen });
        const items = Array.from(r.ids, (i) => loaded.items.external(i));
        const scores = Array.from(r.scores, (s) => Number(float32Text(s)));
        if (o.json) {
          process.stdout.write(JSON.stringify({ user: loaded.users.external(u), items, scores }) + '\n');
        } else {
          process.stdout.write(`${loaded.kind} recommendations for user ${id}:\n`);
          if (!items.length) process.stdout.write('  (none: the model has nothing to recommend to this user)\n');
          items.forEach((item, r0) => process.stdout.write(`  ${String(r0 + 1).padStart(3)}  ${String(item).padEnd(12)} ${scores[r0]}\n`));
        }
      }
    });
}
