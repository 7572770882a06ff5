import type { Command } from 'commander';
import { generateInteractions, writeSyntheticCsv } from '../../data/synthetic.js';
import { writeInteractionsParquet } from '../../data/parquet.js';
import { writeInteractionsArrow } from '../../data/arrow.js';
import { checkOutputPath, nonNegativeNumber, positiveInt, UsageError } from '../args.js';
import { decimalNumber } from '../../data/decimal.js';
import { writeFileAtomically } from '../../data/outputFile.js';

export function register(program: Command): void {
  program
    .command('generate')
    .description('write a synthetic interaction dataset (Zipf item popularity), seeded and reproducible')
    .requiredOption('--users <n>', 'number of users', positiveInt('--users'))
    .requiredOption('--items <n>', 'number of items', positiveInt('--items'))
    .requiredOption('--interactions <n>', 'number of interactions', positiveInt('--interactions'))
    .option('--zipf <s>', 'Zipf exponent of item popularity', nonNegativeNumber('--zipf'), 1.0)
    .option('--explicit', 'ratings 1–5 (default)')
    .option('--implicit', 'implicit feedback (weight 1)')
    .option('--seed <n>', 'random seed', (v) => {
      const n = decimalNumber(v);
      if (!Number.isInteger(n)) throw new UsageError(`--seed must be an integer, got '${v}'`);
      return n;
    }, 42)
    .requiredOption('--out <file>', 'output: CSV (.csv or .csv.gz), Parquet (.parquet) or Arrow IPC (.arrow, .feather)')
    .action(async (o: { users: number; items: number; interactions: number; zipf: number; explicit?: boolean; implicit?: boolean; seed: number; out: string }) => {
      if (o.explicit && o.implicit) throw new UsageError('--explicit and --implicit are exclusive');
      if (o.interactions > o.users * o.items) throw new UsageError(`--interactions ${o.interactions} exceeds users × items = ${o.users * o.items}`);
      checkOutputPath(o.out);
      const t0 = performance.now();
      const spec = { users: o.users, items: o.items, interactions: o.interactions, zipf: o.zipf, explicit: !o.implicit, seed: o.seed };
      // the same table either way (the Parquet and Arrow files read back as the CSV does); every
      // format goes through a temporary file renamed into place, so a killed run leaves no
      // truncated file at --out (writeSyntheticCsv does so itself)
      const out = o.out.toLowerCase();
      if (out.endsWith('.parquet')) await writeFileAtomically(o.out, (tmp) => writeInteractionsParquet(generateInteractions(spec), tmp));
      else if (out.endsWith('.arrow') || out.endsWith('.feather')) await writeFileAtomically(o.out, (tmp) => writeInteractionsArrow(generateInteractions(spec), tmp));
      else await writeSyntheticCsv({ ...spec, out: o.out });
      process.stderr.write(`wrote ${o.out} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    });
}
