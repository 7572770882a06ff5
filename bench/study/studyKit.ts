/**
 * What the study scripts (ml100k.ts, sequential.ts, neural.ts) share: their command line
 * (--data DIR, --out FILE, --only a,b,…), finding the ml-100k files, running the `affinity` CLI as
 * a child process (`node dist/src/cli/main.js …`, '$D/' standing for the data directory, so that
 * each command a document prints is exactly what ran), and the markdown the documents are made of.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EvaluateResult } from '../../src/eval/evaluate.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// dist/bench/study → repo root is three levels up
export const root = path.basename(path.dirname(path.dirname(here))) === 'dist' ? path.resolve(here, '..', '..', '..') : path.resolve(here, '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');

/** The value after `name` on the command line. */
export function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** --data DIR; default $AFFINITY_DATA_DIR/ml-100k, else <repo>/../shared/data/ml-100k. */
export const dataDir = path.resolve(arg('--data') ?? (process.env.AFFINITY_DATA_DIR ? path.join(process.env.AFFINITY_DATA_DIR, 'ml-100k') : path.join(root, '..', 'shared', 'data', 'ml-100k')));

/** --out FILE; default docs/`doc` in the repo. */
export function outFile(doc: string): string {
  return path.resolve(arg('--out') ?? path.join(root, 'docs', doc));
}

/** The sections to run: --only a,b,… (default `all`). */
export function onlySections(all: string): Set<string> {
  return new Set((arg('--only') ?? all).split(',').map((s) => s.trim()));
}

/** `base` or `base`.gz, whichever the data directory holds (its file name). */
export function dataFile(base: string): string {
  for (const f of [base, `${base}.gz`]) if (existsSync(path.join(dataDir, f))) return f;
  throw new Error(`${path.join(dataDir, base)}(.gz) not found: pass --data DIR (the ml-100k folder) or set AFFINITY_DATA_DIR`);
}

export const log = (m: string) => process.stderr.write(`[study ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
let cliTotal = 0;

/** Seconds spent in affinity() so far. */
export function cliSeconds(): number {
  return cliTotal;
}

/** Run `affinity ARGS` ('$D/' stands for the data dir); returns stdout. */
export function affinity(args: string[]): string {
  const real = args.map((a) => a.replaceAll('$D/', dataDir + path.sep));
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, ...real], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env } });
  const s = (performance.now() - t0) / 1000;
  cliTotal += s;
  if (r.status !== 0) throw new Error(`affinity ${args.join(' ')} failed (${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  log(`${s.toFixed(1)} s  affinity ${args.join(' ')}`);
  return r.stdout;
}

function shellQuote(a: string): string {
  return /^[\w@%+=:,./$-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`;
}

/** The commands as a markdown sh block, one `affinity …` line each. */
export const cmd = (...runs: string[][]) => '```sh\n' + runs.map((args) => 'affinity ' + args.map(shellQuote).join(' ')).join('\n') + '\n```';

/** `affinity eval ARGS --json --quiet`: one result per model. */
export function evalJson(args: string[]): EvaluateResult[] {
  const out = JSON.parse(affinity(['eval', ...args, '--json', '--quiet']));
  return Array.isArray(out) ? out : [out];
}

export const f4 = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? '—' : v.toFixed(4));
export const f2 = (v: number) => v.toFixed(2);
/** mean ± std over folds (the mean alone for one fold); '—' when the metric is missing */
export const pm = (r: EvaluateResult, k: string) => (k in r.mean ? (r.folds.length > 1 ? `${f4(r.mean[k])} ± ${f4(r.std[k])}` : f4(r.mean[k])) : '—');

/** A markdown table, the first column left-aligned, the others right-aligned. */
export function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map((_, c) => (c === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Put the best value of column `col` in bold (every row that has it). */
export function bold(rows: string[][], col: number, better: 'min' | 'max'): void {
  const v = rows.map((r) => parseFloat(r[col]));
  const ok = v.filter((x) => Number.isFinite(x));
  if (!ok.length) return;
  const best = better === 'min' ? Math.min(...ok) : Math.max(...ok);
  rows.forEach((r, i) => { if (v[i] === best) r[col] = `**${r[col]}**`; });
}
