/**
 * The main job on the synthetic 138k × 27k × 20M file (issue 15), in the full suite:
 *
 *   read:csv, read:csv.gz, read:parquet,  readInteractions on the file (rows/s)
 *   read:arrow
 *   csr:build                             toCsr of the 20M triplets read from it
 *   csr:transpose                         transpose of that users × items CSR (items × users)
 *   cli:precompute                        `affinity precompute --input syn.csv --model als --params
 *                                         factors=64,iterations=15 --k 10 --out recs.jsonl`
 *   cli:similarity                        `affinity similarity --input syn.csv --by item --metric
 *                                         cosine --k 20 --out sims.jsonl`
 *
 * The CLI cases run the command as a child process, so the time is the command's wall time from
 * start to exit and the peak RSS its own (reported by bench/rssOnExit.ts at its exit), not this
 * process's. The files are made once — `affinity generate --users 138000 --items 27000
 * --interactions 20000000 --zipf 1.0 --implicit --seed 3`, then gzip, Parquet and Arrow IPC copies — in
 * AFFINITY_BENCH_DIR (default <tmpdir>/affinity-bench) and reused by later runs.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { readInteractions, type ReadResult } from '../src/data/readers.js';
import { toCsr } from '../src/data/interactions.js';
import { transposeCsr } from '../src/data/csrBuild.js';
import { nativeCsrUnavailable } from '../src/data/nativeCsr.js';
import { writeSyntheticCsv } from '../src/data/synthetic.js';
import { writeInteractionsParquet } from '../src/data/parquet.js';
import { writeInteractionsArrow } from '../src/data/arrow.js';
import type { BenchCase, Prepared, Suite } from './benchCase.js';

const FULL: Suite[] = ['full'];
const SIZE = '138kx27kx20M';
const GENERATE = { users: 138_000, items: 27_000, interactions: 20_000_000, zipf: 1.0, explicit: false, seed: 3 };

function benchDir(): string {
  const d = process.env.AFFINITY_BENCH_DIR ?? path.join(os.tmpdir(), 'affinity-bench');
  mkdirSync(d, { recursive: true });
  return d;
}

/** `file`, made by `make(tmp)` when absent (written to a temporary name, then renamed: a killed run leaves no half file). */
async function cached(file: string, make: (tmp: string) => Promise<void>): Promise<string> {
  if (existsSync(file) && statSync(file).size > 0) return file;
  const tmp = `${file}.${process.pid}.partial`;
  try {
    await make(tmp);
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  return file;
}

let csvFile: Promise<string> | null = null;
/** The synthetic file of the issue's command (`affinity generate … --seed 3`), 532 MB. */
export function syntheticCsv(): Promise<string> {
  csvFile ??= cached(path.join(benchDir(), 'syn20m.csv'), async (tmp) => { await writeSyntheticCsv({ ...GENERATE, out: tmp }); });
  return csvFile;
}

/** A file made once from the synthetic CSV (cached on disk, and one promise per process). */
function fromSyntheticCsv(name: string, make: (csv: string, tmp: string) => Promise<void>): () => Promise<string> {
  let file: Promise<string> | null = null;
  return () => {
    file ??= (async () => {
      const csv = await syntheticCsv();
      return cached(path.join(benchDir(), name), (tmp) => make(csv, tmp));
    })();
    return file;
  };
}

const syntheticGz = fromSyntheticCsv('syn20m.csv.gz', (csv, tmp) => pipeline(createReadStream(csv), createGzip({ level: 6 }), createWriteStream(tmp)));
const syntheticParquet = fromSyntheticCsv('syn20m.parquet', async (csv, tmp) => { await writeInteractionsParquet(await readInteractions(csv, { progress: false }), tmp); });
const syntheticArrow = fromSyntheticCsv('syn20m.arrow', async (csv, tmp) => { await writeInteractionsArrow(await readInteractions(csv, { progress: false }), tmp); });

let triplets: Promise<ReadResult> | null = null;
function syntheticTriplets(): Promise<ReadResult> {
  triplets ??= (async () => readInteractions(await syntheticCsv(), { progress: false }))();
  return triplets;
}

function readCase(kind: 'csv' | 'csv.gz' | 'parquet' | 'arrow', file: () => Promise<string>, anchor?: string): BenchCase {
  return {
    kernel: `read:${kind}`, kind: 'job', size: SIZE, suites: FULL, anchor, maxRepeats: 3,
    async prepare(): Promise<Prepared> {
      const f = await file();
      const mb = statSync(f).size / 1e6;
      let parser = '';
      return {
        run: async () => { const x = await readInteractions(f, { progress: false }); parser = x.stats.parser; return x.user.length; },
        units: { count: GENERATE.interactions, unit: 'rows/s' },
        get note() { return `readInteractions(${path.basename(f)}, ${mb.toFixed(0)} MB)${parser ? `, parser ${parser}` : ''}; ratings and timestamps; duplicates checked`; },
      };
    },
  };
}

/** Which code builds and transposes CSRs here (src/data/matrix.ts: the addon's when it is built). */
function csrBuiltBy(): string {
  const why = nativeCsrUnavailable();
  return why ? `TypeScript reference, counting sorts; no native build: ${why}` : 'native addon: rows partitioned into cache-sized blocks over threads, each block counting-sorted in cache';
}

function csrCase(): BenchCase {
  return {
    kernel: 'csr:build', kind: 'job', size: SIZE, suites: FULL, anchor: 'csr-20m', maxRepeats: 3,
    async prepare(): Promise<Prepared> {
      const x = await syntheticTriplets();
      return {
        run: async () => toCsr(x, 'user'),
        units: { count: x.user.length, unit: 'triplets/s' },
        note: `toCsr(users × items) of the 20M triplets read from syn20m.csv (${csrBuiltBy()})`,
      };
    },
  };
}

function transposeCase(): BenchCase {
  return {
    kernel: 'csr:transpose', kind: 'job', size: SIZE, suites: FULL, anchor: 'csr-20m', maxRepeats: 3,
    async prepare(): Promise<Prepared> {
      const m = toCsr(await syntheticTriplets(), 'user');
      return {
        run: async () => transposeCsr(m),
        units: { count: m.indptr[m.rows], unit: 'entries/s' },
        note: `transposeCsr (users × items → items × users) of the CSR of the 20M triplets read from syn20m.csv (${csrBuiltBy()})`,
      };
    },
  };
}

/** The CLI (dist/src/cli/main.js) next to this compiled file (dist/bench/). */
function cliMain(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
}

/** Runs the CLI; resolves with its peak RSS (MiB), rejects with its stderr on a non-zero exit. */
function runCli(args: string[]): Promise<number | undefined> {
  const rssFile = path.join(benchDir(), `rss.${process.pid}.txt`);
  rmSync(rssFile, { force: true });
  const reporter = new URL('./rssOnExit.js', import.meta.url).href;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', reporter, cliMain(), ...args], {
      stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, AFFINITY_BENCH_RSS_FILE: rssFile },
    });
    let stderr = '';
    child.stderr.on('data', (b) => { stderr += b; });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) { reject(new Error(`affinity ${args[0]} exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`)); return; }
      const kib = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) : NaN;
      rmSync(rssFile, { force: true });
      resolve(Number.isFinite(kib) ? Math.round(kib / 1024) : undefined);
    });
  });
}

function cliCase(o: { name: string; anchor: string; args: (csv: string, out: string) => string[]; outFile: string; note: string }): BenchCase {
  return {
    kernel: `cli:${o.name}`, kind: 'job', size: SIZE, suites: FULL, anchor: o.anchor, maxRepeats: 3,
    async prepare(): Promise<Prepared> {
      const csv = await syntheticCsv();
      const out = path.join(benchDir(), o.outFile);
      let peak: number | undefined;
      return {
        run: async () => {
          const p = await runCli(o.args(csv, out));
          peak = Math.max(peak ?? 0, p ?? 0) || undefined;
          rmSync(out, { force: true });
        },
        units: { count: GENERATE.interactions, unit: 'interactions/s' },
        childPeakRssMiB: () => peak,
        note: `${o.note}; a child process (its wall time and peak RSS)`,
      };
    },
  };
}

/** Every case of the main job (full suite). */
export function mainJobCases(): BenchCase[] {
  return [
    readCase('csv', syntheticCsv, 'read-20m'),
    readCase('csv.gz', syntheticGz),
    readCase('parquet', syntheticParquet, 'read-parquet-20m'),
    readCase('arrow', syntheticArrow, 'read-arrow-20m'),
    csrCase(),
    transposeCase(),
    cliCase({
      name: 'precompute', anchor: 'precompute-20m', outFile: 'recs.jsonl',
      args: (csv, out) => ['precompute', '--input', csv, '--model', 'als', '--params', 'factors=64,iterations=15', '--k', '10', '--out', out, '--quiet'],
      note: 'affinity precompute --input syn20m.csv --model als --params factors=64,iterations=15 --k 10 --out recs.jsonl',
    }),
    cliCase({
      name: 'similarity', anchor: 'similarity-20m', outFile: 'sims.jsonl',
      args: (csv, out) => ['similarity', '--input', csv, '--by', 'item', '--metric', 'cosine', '--k', '20', '--out', out],
      note: 'affinity similarity --input syn20m.csv --by item --metric cosine --k 20 --out sims.jsonl (reading included)',
    }),
  ];
}
