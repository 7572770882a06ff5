/**
 * `affinity verify DIR`: check a partitioned precompute (affinity precompute --shards N --out DIR):
 * _SUCCESS and _manifest.json present, every shard listed once, every part file present with the
 * manifest's size and SHA-256, no stray part files. Exit 0 and one line when complete; else the
 * problem and exit 1.
 */
import type { Command } from 'commander';
import { verifyDataset } from '../../pipeline/dataset.js';

export function register(program: Command): void {
  program
    .command('verify')
    .description('check that a partitioned precompute output directory is complete and intact (manifest, sizes, SHA-256)')
    .argument('<dir>', 'the directory given to affinity precompute --shards N --out DIR')
    .option('--no-hash', 'check sizes only, not the SHA-256 of every part')
    .option('--json', 'print the manifest on stdout')
    .action(async (dir: string, o: { hash: boolean; json?: boolean }) => {
      const { manifest: m, files } = await verifyDataset(dir, { hash: o.hash });
      if (o.json) process.stdout.write(JSON.stringify(m) + '\n');
      else {
        process.stdout.write(`${dir}: complete: ${m.shards} shards, ${files.length} files, ${m.totals.rows} recommendations for ${m.totals.users} users` +
          `${m.totals.similarRows !== undefined ? `, ${m.totals.similarRows} similar items` : ''}, ${m.totals.bytes} bytes${o.hash ? ', SHA-256 verified' : ''}\n`);
      }
    });
}
