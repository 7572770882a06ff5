/**
 * Benchmark harness: times one kernel on one backend at one size, repeated, and reports
 * median and spread. Records are the format of `affinity bench --json`.
 */
export interface BenchRecord {
  kernel: string;
  backend: string;
  size: string;
  threads: number;
  medianSeconds: number;
  minSeconds: number;
  maxSeconds: number;
  repeats: number;
  gflops?: number;
  /** free-form note: sampled rows, parameters */
  note?: string;
}

export interface TimingOptions {
  repeats: number;
  warmup: number;
}

export async function timeRepeated(fn: () => Promise<unknown>, o: TimingOptions): Promise<number[]> {
  for (let i = 0; i < o.warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < o.repeats; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  return times;
}

export function summarize(times: number[]): { medianSeconds: number; minSeconds: number; maxSeconds: number } {
  const s = [...times].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { medianSeconds: median, minSeconds: s[0], maxSeconds: s[s.length - 1] };
}

export function markdownTable(records: BenchRecord[]): string {
  const lines = [
    '| kernel | backend | size | threads | median s | min s | max s | GFLOP/s | note |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of records) {
    lines.push(`| ${r.kernel} | ${r.backend} | ${r.size} | ${r.threads} | ${r.medianSeconds.toFixed(4)} | ${r.minSeconds.toFixed(4)} | ${r.maxSeconds.toFixed(4)} | ${r.gflops !== undefined ? r.gflops.toFixed(2) : ''} | ${r.note ?? ''} |`);
  }
  return lines.join('\n') + '\n';
}
