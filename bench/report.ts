/**
 * The files `affinity bench --out DIR` writes: `<suite>.json` (date, machine, records),
 * `<suite>.md` (speed targets, the results table), `<suite>-throughput.svg` (bar chart) and
 * `<suite>-scaling.svg` (line chart).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { MachineInfo } from '../src/engine/machine.js';
import { inputOf } from './compare.js';
import { ANCHORS, anchorsMarkdown } from './anchors.js';
import { markdownTable, type BenchRecord } from './harness.js';
import { barChart, lineChart } from './svg.js';

export interface BenchResult {
  suite: string;
  date: string;
  machine: MachineInfo;
  /** wall time of the whole run, seconds */
  wallSeconds?: number;
  /** os.loadavg() (1, 5, 15 min) at the start and at the end of the run: > cores means the timings shared the CPU */
  loadAverage?: { start: number[]; end: number[] };
  records: BenchRecord[];
}

export function machineLine(m: MachineInfo): string {
  return `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, SIMD ${m.simd}, ${m.platform}-${m.arch}, node ${m.node}${m.gpu ? `, GPU ${m.gpu}` : ''}`;
}

function loadLine(r: BenchResult): string {
  const l = r.loadAverage;
  if (!l) return '';
  const busy = Math.max(l.start[0], l.end[0]) > r.machine.cores * 0.75;
  return ` Load average (1 min) ${l.start[0].toFixed(1)} at the start, ${l.end[0].toFixed(1)} at the end${busy ? ` on ${r.machine.cores} cores: other processes shared the CPU, so these timings are pessimistic` : ''}.`;
}

/** The report's body, without a title: used by the .md file and by the README section. */
export function reportBody(r: BenchResult, o: { chartsDir?: string } = {}): string {
  const parts = [
    `Run ${r.date.slice(0, 10)} (${r.date}), suite \`${r.suite}\`${r.wallSeconds !== undefined ? `, ${r.wallSeconds.toFixed(0)} s wall` : ''} — ${machineLine(r.machine)}.${loadLine(r)}`,
    '',
    ...(r.records.some((x) => /stand-in/.test(inputOf(x)))
      ? ['**⚠ ML-100k was not found: the cases marked "synthetic ML-100k stand-in" timed generated data of its shape, not ML-100k; their figures and the reference comparisons do not hold for ML-100k.**', '']
      : []),
    '**Speed targets.** Reference figures from other libraries and the targets set for affinity; "× reference" and "× target" are > 1 when affinity is faster. Results extrapolated from a timed sample of rows are marked.',
    '',
    anchorsMarkdown(r.records),
    '**Results.** Median over the repeats, min–max spread; throughput in GFLOP/s for kernels (the kernel\'s own flop count), interactions/s for fits, users/s for the precompute job. "× js" is the throughput ratio to the js backend on the same case in this run; "× anchor"/"× target" as above. Peak RSS is the process\'s, sampled.',
    '',
    markdownTable(r.records),
  ];
  if (o.chartsDir !== undefined) {
    parts.push(`![throughput per backend](${o.chartsDir}${r.suite}-throughput.svg)`, '', `![scaling with size](${o.chartsDir}${r.suite}-scaling.svg)`, '');
  }
  return parts.join('\n');
}

export function reportMarkdown(r: BenchResult): string {
  return `# affinity bench (${r.suite})\n\n${reportBody(r, { chartsDir: '' })}`;
}

export function writeReport(dir: string, r: BenchResult): string[] {
  mkdirSync(dir, { recursive: true });
  const files: Array<[string, string]> = [
    [`${r.suite}.json`, JSON.stringify(r, null, 2) + '\n'],
    [`${r.suite}.md`, reportMarkdown(r)],
    [`${r.suite}-throughput.svg`, barChart(r.records, `affinity bench (${r.suite}): throughput per backend, ${r.date.slice(0, 10)}`)],
    [`${r.suite}-scaling.svg`, lineChart(r.records, `affinity bench (${r.suite}): scaling with size, ${r.date.slice(0, 10)}`)],
  ];
  for (const [name, text] of files) writeFileSync(path.join(dir, name), text);
  return files.map(([name]) => path.join(dir, name));
}

export { ANCHORS };
