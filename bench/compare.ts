/**
 * `affinity bench compare A.json B.json`: per (kernel, backend, size), the ratio B/A of the
 * median times (< 1: B is faster) and of the GFLOP/s (> 1: B is faster), so a change can be
 * judged against a previous run on the same machine. A and B are result files written by
 * `--out` ({date, machine, records}) or the array printed by `--json`.
 *
 * A ratio means something only when both runs timed the same problem on the same machine: a case
 * whose input differs (e.g. ML-100k in one run, its synthetic stand-in in the other — the input
 * is the data source a record names) is flagged 'inputs differ' and left out of the geometric
 * mean, and runs on different machines (CPU model, cores, SIMD, GPU) get a warning.
 */
import { readFileSync } from 'node:fs';
import { fmt, type BenchRecord } from './harness.js';

export interface ResultFile {
  date?: string;
  suite?: string;
  machine?: Record<string, unknown>;
  records: BenchRecord[];
}

export interface CompareRow {
  kernel: string;
  backend: string;
  size: string;
  aSeconds?: number;
  bSeconds?: number;
  /** B median ÷ A median */
  timeRatio?: number;
  /** B GFLOP/s ÷ A GFLOP/s */
  gflopsRatio?: number;
  /** B throughput ÷ A throughput, whatever its unit */
  throughputRatio?: number;
  /** 'A' or 'B' when the case is in one file only */
  onlyIn?: 'A' | 'B';
  /** the two runs' inputs, when they differ (the ratios then compare different problems) */
  inputsDiffer?: { a: string; b: string };
}

/**
 * The data a record timed: its `input`, else the data source its note ends with (`…; ML-100k
 * u.data`, `…; synthetic ML-100k stand-in (…)`, `…; synthetic 1000×2000×50000`), else '' (the case's
 * size alone says what it is, e.g. a generated dense problem).
 */
export function inputOf(r: BenchRecord & { input?: string }): string {
  if (r.input) return r.input;
  const last = r.note?.split('; ').pop() ?? '';
  return /ML-100k|synthetic|stand-in|u\.data/.test(last) ? last : '';
}

/** Warnings when A and B ran on different machines (each ratio then mixes machine and code). */
export function machineDifferences(a: ResultFile, b: ResultFile): string[] {
  if (!a.machine || !b.machine) return [];
  const out: string[] = [];
  for (const key of ['cpuModel', 'cores', 'simd', 'gpu']) {
    const va = a.machine[key] ?? null, vb = b.machine[key] ?? null;
    if (va !== vb) out.push(`A and B ran on different machines: ${key} ${JSON.stringify(va)} vs ${JSON.stringify(vb)}; the ratios mix the machines with the code`);
  }
  return out;
}

export function parseResults(text: string, name = 'results'): ResultFile {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${name} is not JSON: ${(e as Error).message}`, { cause: e });
  }
  const records = Array.isArray(v) ? v : (v as { records?: unknown })?.records;
  if (!Array.isArray(records)) throw new Error(`${name} has no records (expected an array, or an object with a records array)`);
  for (const [i, r] of records.entries()) {
    const x = r as Partial<BenchRecord>;
    if (typeof x?.kernel !== 'string' || typeof x.backend !== 'string' || typeof x.size !== 'string' || typeof x.medianSeconds !== 'number') {
      throw new Error(`${name}: record ${i} lacks kernel/backend/size/medianSeconds`);
    }
  }
  return Array.isArray(v) ? { records: records as BenchRecord[] } : { ...(v as ResultFile), records: records as BenchRecord[] };
}

export function loadResults(path: string): ResultFile {
  return parseResults(readFileSync(path, 'utf8'), path);
}

const keyOf = (r: BenchRecord): string => `${r.kernel}\u0000${r.backend}\u0000${r.size}`;

export function compareRecords(a: BenchRecord[], b: BenchRecord[]): CompareRow[] {
  const am = new Map(a.map((r) => [keyOf(r), r]));
  const bm = new Map(b.map((r) => [keyOf(r), r]));
  const rows: CompareRow[] = [];
  for (const ra of a) {
    const rb = bm.get(keyOf(ra));
    const row: CompareRow = { kernel: ra.kernel, backend: ra.backend, size: ra.size, aSeconds: ra.medianSeconds };
    if (!rb) { rows.push({ ...row, onlyIn: 'A' }); continue; }
    row.bSeconds = rb.medianSeconds;
    const ia = inputOf(ra), ib = inputOf(rb);
    if (ia !== ib) { rows.push({ ...row, inputsDiffer: { a: ia || '(not recorded)', b: ib || '(not recorded)' } }); continue; }
    if (ra.medianSeconds > 0) row.timeRatio = rb.medianSeconds / ra.medianSeconds;
    if (ra.gflops && rb.gflops !== undefined) row.gflopsRatio = rb.gflops / ra.gflops;
    const ta = ra.throughput ?? ra.gflops, tb = rb.throughput ?? rb.gflops;
    if (ta && tb !== undefined && (ra.throughputUnit ?? 'GFLOP/s') === (rb.throughputUnit ?? 'GFLOP/s')) row.throughputRatio = tb / ta;
    rows.push(row);
  }
  for (const rb of b) if (!am.has(keyOf(rb))) rows.push({ kernel: rb.kernel, backend: rb.backend, size: rb.size, bSeconds: rb.medianSeconds, onlyIn: 'B' });
  return rows;
}

/** Geometric mean of the time ratios of the cases in both files. */
export function geometricMeanRatio(rows: CompareRow[]): number | undefined {
  const r = rows.map((x) => x.timeRatio).filter((x): x is number => x !== undefined && x > 0);
  if (!r.length) return undefined;
  return Math.exp(r.reduce((s, x) => s + Math.log(x), 0) / r.length);
}

export function compareMarkdown(rows: CompareRow[], aName = 'A', bName = 'B'): string {
  const lines = [
    `| kernel | backend | size | ${aName} median s | ${bName} median s | time B/A | GFLOP/s B/A | verdict |`,
    '| --- | --- | --- | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of rows) {
    let verdict = '';
    if (r.onlyIn) verdict = `only in ${r.onlyIn === 'A' ? aName : bName}`;
    else if (r.inputsDiffer) verdict = `**inputs differ, not comparable**: ${aName} ${r.inputsDiffer.a}, ${bName} ${r.inputsDiffer.b}`;
    else if (r.timeRatio !== undefined) verdict = r.timeRatio < 0.95 ? 'faster' : r.timeRatio > 1.05 ? 'slower' : 'same (±5%)';
    lines.push(`| ${r.kernel} | ${r.backend} | ${r.size} | ${fmt(r.aSeconds, 4)} | ${fmt(r.bSeconds, 4)} | ${fmt(r.timeRatio)} | ${fmt(r.gflopsRatio ?? r.throughputRatio)} | ${verdict} |`);
  }
  const g = geometricMeanRatio(rows);
  if (g !== undefined) lines.push('', `geometric mean of time B/A over ${rows.filter((r) => r.timeRatio !== undefined).length} cases: ${fmt(g)} (< 1: B is faster)`);
  const differ = rows.filter((r) => r.inputsDiffer).length;
  if (differ) lines.push('', `${differ} case(s) timed different inputs in ${aName} and ${bName} (see the verdicts): no ratio given, not in the mean`);
  return lines.join('\n') + '\n';
}
