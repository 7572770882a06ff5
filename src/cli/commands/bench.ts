import type { Command } from 'commander';
import type { CliEdge } from '../edge.js';
import path from 'node:path';
import os from 'node:os';
import {
  ANCHORS, compareMarkdown, compareRecords, formatThroughput, inputOf, machineDifferences, loadResults, runBench, updateReadme, writeReport,
  type BenchRecord, type BenchResult, type Suite,
} from '../../../bench/index.js';
import { ml100kPath, repoRoot } from '../../../bench/data.js';
import { existsSync } from 'node:fs';
import { machineInfo } from '../../engine/machine.js';
import { parseSize, UsageError } from '../args.js';

interface BenchOpts {
  suite: string; kernel?: string; size?: [number, number]; repeats?: number; out?: string; json?: boolean; readme?: boolean;
}

/** cpu time per call, and for kernels the GFLOP/s per busy core (the steadier figure on a shared machine) */
function cpuText(r: BenchRecord): string {
  if (r.medianCpuSeconds === undefined) return '';
  const perCore = r.gflops !== undefined && r.medianCpuSeconds > 0 ? `, ${(r.gflops * r.medianSeconds / r.medianCpuSeconds).toPrecision(3)} GFLOP/s per busy core` : '';
  return `  cpu ${r.medianCpuSeconds.toFixed(4)} s${perCore}`;
}

function line(r: BenchRecord): string {
  const tp = formatThroughput(r);
  return `${r.kernel.padEnd(20)} ${r.backend.padEnd(7)} ${r.size.padEnd(34)} median ${r.medianSeconds.toFixed(4)} s  [${r.minSeconds.toFixed(4)}–${r.maxSeconds.toFixed(4)}]${tp ? `  ${tp}` : ''}${cpuText(r)}${r.peakRssMiB !== undefined ? `  rss ${r.peakRssMiB} MiB` : ''}${r.note ? `  (${r.note})` : ''}`;
}

/**
 * A case's standing against its anchor and target (bench/anchors.ts): × anchor and × target as annotate()
 * computed them (on the wall-time GFLOP/s), and for a per-thread GFLOP/s anchor also the ratio on GFLOP/s per
 * busy core (CPU time: the steadier one on a shared machine). null when the case has neither.
 */
function anchorLine(r: BenchRecord): string | null {
  if (r.vsAnchor === undefined && r.vsTarget === undefined) return null;
  const a = ANCHORS.find((x) => x.id === r.anchor);
  const x = (v: number | undefined) => (v === undefined ? '—' : `${v.toPrecision(3)}×`);
  let perCore = '';
  if (a?.perThread && a.gflops !== undefined && r.gflops !== undefined && r.medianCpuSeconds) {
    perCore = `, ${x((r.gflops * r.medianSeconds / r.medianCpuSeconds) / a.gflops)} on GFLOP/s per busy core`;
  }
  return `${r.kernel.padEnd(20)} ${r.backend.padEnd(7)} ${r.size.padEnd(34)} × anchor ${x(r.vsAnchor)}${perCore}, × target ${x(r.vsTarget)}${a ? `  (${a.reference})` : ''}`;
}

function compare(files: string[], json: boolean | undefined): void {
  if (files.length !== 2) throw new UsageError(`bench compare needs two result files (A.json B.json), got ${files.length}`);
  const [a, b] = files.map((f) => {
    try {
      return loadResults(f);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  });
  const rows = compareRecords(a.records, b.records);
  for (const w of machineDifferences(a, b)) process.stderr.write(`affinity: warning: ${w}\n`);
  const differ = rows.filter((r) => r.inputsDiffer);
  if (differ.length) process.stderr.write(`affinity: warning: ${differ.length} case(s) timed different inputs in A and B (e.g. ${differ[0].kernel} ${differ[0].size}: ${differ[0].inputsDiffer!.a} vs ${differ[0].inputsDiffer!.b}); they are flagged and get no ratio\n`);
  if (json) process.stdout.write(JSON.stringify(rows) + '\n');
  else process.stdout.write(`A = ${files[0]}${a.date ? ` (${a.date})` : ''}\nB = ${files[1]}${b.date ? ` (${b.date})` : ''}\n\n${compareMarkdown(rows)}`);
}

export function register(program: Command, edge: CliEdge): void {
  program
    .command('bench')
    .description('time kernels, model fits and the precompute job per backend and size (median and spread over repeats); `bench compare A.json B.json` compares two runs')
    .argument('[mode]', "'compare' to compare two result files")
    .argument('[files...]', 'compare: A.json B.json')
    .option('--suite <name>', 'quick | full', 'quick')
    .option('--kernel <name>', "only this kernel (or 'fit', 'job', 'fit:svd', …)")
    .option('--size <RxC>', 'every kernel at one synthetic size, e.g. 20000x64', parseSize)
    .option('--repeats <n>', 'timed repeats per case', (v) => Number(v))
    .option('--out <dir>', 'write <suite>.json, <suite>.md and SVG charts here')
    .option('--json', 'print one JSON array of records on stdout')
    .option('--readme', "rewrite the README's bench section from this run (needs --out)")
    .action(async (mode: string | undefined, files: string[], o: BenchOpts) => {
      if (mode === 'compare') return compare(files, o.json);
      if (mode !== undefined) throw new UsageError(`unknown bench mode '${mode}' (only 'compare A.json B.json')`);
      if (o.suite !== 'quick' && o.suite !== 'full') throw new UsageError(`--suite must be quick or full, got '${o.suite}'`);
      if (o.repeats !== undefined && !(Number.isInteger(o.repeats) && o.repeats > 0)) throw new UsageError('--repeats must be a positive integer');
      if (o.readme && !o.out) throw new UsageError('--readme needs --out DIR (the README links nothing outside it, but the run must be saved)');
      const { backend } = edge.context();
      const log = (s: string): void => { (o.json ? process.stderr : process.stdout).write(s + '\n'); };
      // the ML-100k cases run on a synthetic stand-in when the data is absent: say so loudly, before and after
      const standIn = existsSync(ml100kPath()) ? null
        : `affinity: WARNING: ${ml100kPath()} not found (set AFFINITY_DATA_DIR): the ML-100k cases time a SYNTHETIC STAND-IN of the same shape, ` +
          'not ML-100k; their figures and the Surprise/implicit comparisons do not hold for ML-100k\n';
      if (standIn) process.stderr.write(standIn);
      const loadStart = os.loadavg();
      const t0 = performance.now();
      const records = await runBench({
        suite: o.suite as Suite, kernel: o.kernel, backend, size: o.size, repeats: o.repeats,
        onRecord: o.json ? undefined : (r) => log(line(r)),
        onError: (c, b, e) => process.stderr.write(`affinity: bench ${c.kernel} ${c.size} on ${b} failed: ${e instanceof Error ? e.message : String(e)}\n`),
      });
      if (o.kernel && !records.length) throw new UsageError(`no bench case matches --kernel ${o.kernel}`);
      if (standIn && records.some((r) => /stand-in/.test(inputOf(r)))) process.stderr.write(standIn);
      const wallSeconds = (performance.now() - t0) / 1000;
      if (o.json) process.stdout.write(JSON.stringify(records) + '\n');
      else {
        const standing = records.map(anchorLine).filter((l): l is string => l !== null);
        if (standing.length) log(['against the anchors and targets (bench/anchors.ts):', ...standing].join('\n'));
      }
      if (o.out) {
        const result: BenchResult = { suite: o.suite, date: new Date().toISOString(), machine: machineInfo(), wallSeconds, loadAverage: { start: loadStart, end: os.loadavg() }, records };
        const written = writeReport(o.out, result);
        if (!o.json) log(`wrote ${written.join(', ')} (${wallSeconds.toFixed(1)} s)`);
        if (o.readme) {
          const readme = path.join(repoRoot(), 'README.md');
          updateReadme(readme, result);
          log(`updated ${readme}`);
        }
      }
    });
}
