import type { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { markdownTable, runBench, type BenchRecord, type Suite } from '../../../bench/index.js';
import { machineInfo } from '../../engine/machine.js';
import { parseSize, UsageError } from '../args.js';

export function register(program: Command): void {
  program
    .command('bench')
    .description('time kernels per backend and size (median and spread over repeats)')
    .option('--suite <name>', 'quick | full', 'quick')
    .option('--kernel <name>', 'only this kernel')
    .option('--size <RxC>', 'one size, e.g. 20000x64', parseSize)
    .option('--repeats <n>', 'timed repeats per case', (v) => Number(v))
    .option('--out <dir>', 'write results.json and results.md here')
    .option('--json', 'print one JSON array of records on stdout')
    .action(async (o: { suite: string; kernel?: string; size?: [number, number]; repeats?: number; out?: string; json?: boolean }, cmd: Command) => {
      if (o.suite !== 'quick' && o.suite !== 'full') throw new UsageError(`--suite must be quick or full, got '${o.suite}'`);
      if (o.repeats !== undefined && !(Number.isInteger(o.repeats) && o.repeats > 0)) throw new UsageError('--repeats must be a positive integer');
      const backend = cmd.optsWithGlobals().backend as string | undefined;
      const onRecord = o.json ? undefined : (r: BenchRecord) => {
        console.log(`${r.kernel.padEnd(16)} ${r.backend.padEnd(7)} ${r.size.padEnd(10)} median ${r.medianSeconds.toFixed(4)} s  [${r.minSeconds.toFixed(4)}–${r.maxSeconds.toFixed(4)}]${r.gflops !== undefined ? `  ${r.gflops.toFixed(2)} GFLOP/s` : ''}${r.note ? `  (${r.note})` : ''}`);
      };
      const records = await runBench({ suite: o.suite as Suite, kernel: o.kernel, backend, size: o.size, repeats: o.repeats, onRecord });
      if (o.json) process.stdout.write(JSON.stringify(records) + '\n');
      if (o.out) {
        mkdirSync(o.out, { recursive: true });
        const m = machineInfo();
        const stamp = new Date().toISOString();
        writeFileSync(path.join(o.out, `${o.suite}.json`), JSON.stringify({ date: stamp, machine: m, records }, null, 2) + '\n');
        writeFileSync(path.join(o.out, `${o.suite}.md`), `# affinity bench (${o.suite})\n\n${stamp} — ${m.cpuModel}, ${m.cores} cores, SIMD ${m.simd}, node ${m.node}\n\n${markdownTable(records)}`);
        if (!o.json) console.log(`wrote ${path.join(o.out, `${o.suite}.json`)} and .md`);
      }
    });
}
