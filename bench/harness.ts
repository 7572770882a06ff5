/**
 * Benchmark harness: times one case (a kernel on one backend at one size, a model fit, the
 * precompute job), repeated, and reports median and spread, throughput and peak memory.
 * Records are the format of `affinity bench --json` (one JSON array of them) and of the
 * `records` field of the result files written by `--out`.
 */
export interface BenchRecord {
  /** kernel name, or `fit:<model>` / `job:precompute` for the end-to-end cases */
  kernel: string;
  backend: string;
  size: string;
  threads: number;
  medianSeconds: number;
  minSeconds: number;
  maxSeconds: number;
  /** median process CPU time (user + system, every thread of the process) of the timed calls, seconds: on a shared machine, the work done apart from waiting for a core */
  medianCpuSeconds?: number;
  repeats: number;
  /** GFLOP/s of the timed call (flops of the timed args / median) */
  gflops?: number;
  /** what kind of case: a kernel call, a model fit, a pipeline job */
  kind?: 'kernel' | 'fit' | 'job';
  /** throughput in the case's natural unit (GFLOP/s for kernels, interactions/s for fits, users/s for the job) */
  throughput?: number;
  throughputUnit?: string;
  /** highest resident set size sampled while the case ran (MiB; process-wide) */
  peakRssMiB?: number;
  /** the process's maxRSS high-water mark after the case (MiB; process.resourceUsage) */
  maxRssMiB?: number;
  /** when only a sample of the rows was timed: median × (full work / timed work) */
  estimatedFullSeconds?: number;
  /** this record's throughput ÷ the js backend's on the same case in the same run */
  vsJs?: number;
  /** the reference figure this case is judged against (see bench/anchors.ts) */
  anchor?: string;
  /** > 1: faster than the anchor (anchor seconds ÷ ours, or our GFLOP/s ÷ anchor GFLOP/s) */
  vsAnchor?: number;
  /** > 1: better than the speed target set for this case */
  vsTarget?: number;
  /** free-form note: sampled rows, parameters, data source */
  note?: string;
}

export interface TimingOptions {
  repeats: number;
  warmup: number;
  /** called before every call (warm-up included), untimed: reset state a mutating kernel changed */
  before?: () => void | Promise<void>;
}

export interface Measurement {
  times: number[];
  /** process CPU time (user + system, all threads: pool workers and native threads included) of each timed call, seconds */
  cpuTimes: number[];
  /** highest process RSS sampled during the calls, bytes */
  peakRssBytes: number;
}

/** Median, min and max of a list of timings (seconds). */
export function summarize(times: number[]): { medianSeconds: number; minSeconds: number; maxSeconds: number } {
  if (!times.length) throw new RangeError('summarize: no timings');
  const s = [...times].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { medianSeconds: median, minSeconds: s[0], maxSeconds: s[s.length - 1] };
}

/**
 * Times fn: `warmup` untimed calls, then `repeats` timed ones. RSS is sampled every 5 ms on a
 * timer (which only fires while fn awaits: a kernel running on the main thread blocks it) and
 * before and after every call, so the peak is a lower bound of the true peak; maxRssMiB in the
 * record (the kernel's own high-water mark) is the upper bound.
 */
export async function measure(fn: () => Promise<unknown>, o: TimingOptions): Promise<Measurement> {
  let peak = process.memoryUsage.rss();
  const sample = (): void => { const r = process.memoryUsage.rss(); if (r > peak) peak = r; };
  const timer = setInterval(sample, 5);
  timer.unref();
  try {
    for (let i = 0; i < o.warmup; i++) { await o.before?.(); await fn(); sample(); }
    const times: number[] = [], cpuTimes: number[] = [];
    for (let i = 0; i < o.repeats; i++) {
      await o.before?.();
      sample();
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await fn();
      times.push((performance.now() - t0) / 1000);
      const c = process.cpuUsage(c0);
      cpuTimes.push((c.user + c.system) / 1e6);
      sample();
    }
    return { times, cpuTimes, peakRssBytes: peak };
  } finally {
    clearInterval(timer);
  }
}

export async function timeRepeated(fn: () => Promise<unknown>, o: TimingOptions): Promise<number[]> {
  return (await measure(fn, o)).times;
}

export const MiB = 1024 * 1024;

/** process.resourceUsage().maxRSS is in KiB on every platform Node supports. */
export function maxRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** A number in a table cell: 3 significant digits, no exponent for the usual ranges. */
export function fmt(v: number | undefined, digits = 3): string {
  if (v === undefined || !Number.isFinite(v)) return '';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6) return v.toExponential(2);
  if (a >= 100) return v.toFixed(0);
  return Number(v.toPrecision(digits)).toString();
}

/** Throughput with its unit, in short form: 12.3 GFLOP/s, 1.52 M interactions/s. */
export function formatThroughput(r: BenchRecord): string {
  const v = r.throughput ?? r.gflops;
  if (v === undefined) return '';
  const unit = r.throughputUnit ?? 'GFLOP/s';
  if (unit === 'GFLOP/s') return `${fmt(v)} GFLOP/s`;
  if (v >= 1e6) return `${fmt(v / 1e6)} M ${unit}`;
  if (v >= 1e3) return `${fmt(v / 1e3)} k ${unit}`;
  return `${fmt(v)} ${unit}`;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function ratio(v: number | undefined): string {
  return v === undefined ? '' : `${fmt(v)}×`;
}

/** One Markdown table row per record. */
export function markdownTable(records: BenchRecord[]): string {
  const lines = [
    '| kernel | backend | size | threads | median s | min–max s | throughput | × js | × anchor | × target | peak RSS MiB | note |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of records) {
    const est = r.estimatedFullSeconds !== undefined ? ` (full ≈ ${fmt(r.estimatedFullSeconds)})` : '';
    lines.push('| ' + [
      r.kernel, r.backend, r.size, String(r.threads),
      fmt(r.medianSeconds, 4) + est,
      `${fmt(r.minSeconds, 4)}–${fmt(r.maxSeconds, 4)}`,
      formatThroughput(r),
      ratio(r.vsJs), ratio(r.vsAnchor), ratio(r.vsTarget),
      r.peakRssMiB !== undefined ? r.peakRssMiB.toFixed(0) : '',
      r.note ?? '',
    ].map(cell).join(' | ') + ' |');
  }
  return lines.join('\n') + '\n';
}
