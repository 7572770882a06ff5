/**
 * `affinity eval --input FILE --model NAME [--params k=v,...] --protocol kfold:5|holdout:0.2
 *                --seed N --metrics rmse,mae,fcp [--json]`
 *
 * Runs the evaluation protocol (src/eval/evaluate.ts) and prints a table (one row per fold, then
 * mean and std), or with --json the single result object on stdout. Progress goes to stderr.
 */
import type { Command } from 'commander';
import { readInteractions } from '../../data/readers.js';
import { evaluate, formatProtocol, parseProtocol, type EvaluateResult, type Protocol } from '../../eval/evaluate.js';
import { parseMetric } from '../../eval/metrics.js';
import { allModels } from '../../models/registry.js';
import type { ModelFactory } from '../../models/types.js';
import { parseParams, UsageError } from '../args.js';

/** The result as an aligned text table. */
export function formatTable(r: EvaluateResult): string {
  const keys = Object.keys(r.mean);
  const head = ['', ...keys];
  const fmt = (key: string, v: number): string => (key.endsWith('Seconds') ? v.toFixed(2) : v.toFixed(4));
  const rows = [
    ...r.folds.map((f, i) => [`fold ${i + 1}`, ...keys.map((k) => fmt(k, f[k]))]),
    ['mean', ...keys.map((k) => fmt(k, r.mean[k]))],
    ['std', ...keys.map((k) => fmt(k, r.std[k]))],
  ];
  const width = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]) => cells.map((s, c) => (c === 0 ? s.padEnd(width[c]) : s.padStart(width[c]))).join('  ');
  const proto = formatProtocol(r.protocol);
  const params = Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(',');
  return [`${r.model}${params ? ` (${params})` : ''}, ${proto}, seed ${r.seed}`, line(head), ...rows.map(line)].join('\n') + '\n';
}

export function register(program: Command, models: Record<string, ModelFactory> = allModels): void {
  program
    .command('eval')
    .description('cross-validate a model: rating (rmse, mae, mse, fcp) and ranking (ndcg@K, precision@K, recall@K) metrics')
    .requiredOption('--input <file>', 'interaction file (CSV/TSV/u.data/JSONL, optionally .gz)')
    .requiredOption('--model <name>', `model: ${Object.keys(models).sort().join('|')}`)
    .option('--params <k=v,...>', 'model parameters, e.g. k=40,sim=pearson-baseline,user_based=false')
    .option('--protocol <p>', 'kfold:N or holdout:RATIO', 'kfold:5')
    .option('--seed <n>', 'random seed of the split', (v) => {
      const n = Number(v);
      if (v.trim() === '' || !Number.isInteger(n)) throw new UsageError(`--seed must be an integer, got '${v}'`);
      return n;
    }, 0)
    .option('--metrics <list>', 'comma-separated metrics', 'rmse,mae')
    .option('--json', 'print the result as one JSON object')
    .action(async (o: { input: string; model: string; params?: string; protocol: string; seed: number; metrics: string; json?: boolean }) => {
      if (!models[o.model]) throw new UsageError(`unknown model '${o.model}' (known: ${Object.keys(models).sort().join(', ')})`);
      const params = parseParams(o.params);
      let protocol: Protocol;
      try { protocol = parseProtocol(o.protocol); } catch (e) { throw new UsageError(`--protocol: ${(e as Error).message}`); }
      const metrics = o.metrics.split(',').map((s) => s.trim()).filter(Boolean);
      if (!metrics.length) throw new UsageError('--metrics is empty');
      for (const m of metrics) parseMetric(m);
      models[o.model](params); // bad params fail before reading the data
      const data = await readInteractions(o.input);
      const result = await evaluate({
        data, modelName: o.model, params, protocol, seed: o.seed, metrics, models,
        onFold: (f, r) => { if (!o.json) process.stderr.write(`fold ${f + 1}: ${metrics.map((m) => `${m} ${r[m].toFixed(4)}`).join(', ')}\n`); },
      });
      process.stdout.write(o.json ? JSON.stringify(result) + '\n' : formatTable(result));
    });
}
