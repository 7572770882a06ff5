/**
 * Benchmark cases. Each case builds its inputs once (seeded), then is timed on every
 * available backend that implements its kernel.
 */
import { getEngine } from '../src/engine/engine.js';
import { getKernel } from '../src/kernels/index.js';
import type { Dense } from '../src/data/matrix.js';
import { randomFloat32 } from './random.js';
import { summarize, timeRepeated, type BenchRecord } from './harness.js';

export type Suite = 'quick' | 'full';

export interface BenchCase {
  kernel: string;
  size: string;
  /** build args for a backend; slow backends may get a sample of the query rows */
  args(backend: string): { args: unknown; note?: string };
}

function dense(rows: number, cols: number, seed: number): Dense {
  return { rows, cols, data: randomFloat32(rows * cols, seed) };
}

/** JS reference runs < 1 GFLOP/s: time it on a sample of query rows so the quick suite stays short. */
const SLOW_BACKENDS = new Set(['js']);

function denseScoreCase(rows: number, cols: number, k: number, sampleRows: number): BenchCase {
  const keys = dense(rows, cols, 7);
  return {
    kernel: 'denseScoreTopK',
    size: `${rows}x${cols}`,
    args(backend) {
      if (SLOW_BACKENDS.has(backend) && sampleRows < rows) {
        const q: Dense = { rows: sampleRows, cols, data: keys.data.subarray(0, sampleRows * cols) };
        return { args: { queries: q, keys, k, metric: 'dot' }, note: `${sampleRows} of ${rows} query rows timed` };
      }
      return { args: { queries: keys, keys, k, metric: 'dot' } };
    },
  };
}

export function suiteCases(suite: Suite, size?: [number, number]): BenchCase[] {
  if (size) return [denseScoreCase(size[0], size[1], 20, Math.min(size[0], 2000))];
  if (suite === 'quick') return [denseScoreCase(20000, 64, 20, 1000), denseScoreCase(2000, 64, 20, 2000)];
  return [denseScoreCase(20000, 64, 20, 4000), denseScoreCase(2000, 64, 20, 2000), denseScoreCase(100000, 128, 20, 1000)];
}

export interface RunBenchOptions {
  suite: Suite;
  kernel?: string;
  backend?: string;
  size?: [number, number];
  repeats?: number;
  onRecord?: (r: BenchRecord) => void;
}

export async function runBench(o: RunBenchOptions): Promise<BenchRecord[]> {
  const engine = getEngine();
  const records: BenchRecord[] = [];
  const repeats = o.repeats ?? (o.suite === 'quick' ? 3 : 5);
  for (const c of suiteCases(o.suite, o.size)) {
    if (o.kernel && c.kernel !== o.kernel) continue;
    const kernel = getKernel(c.kernel);
    const backends = o.backend && o.backend !== 'auto'
      ? await engine.resolveBackends(c.kernel, 0, o.backend)
      : await engine.candidates(c.kernel, 0);
    for (const b of backends) {
      const { args, note } = c.args(b.name);
      const slow = SLOW_BACKENDS.has(b.name);
      const times = await timeRepeated(() => engine.run(c.kernel, args, { backend: b.name }), { repeats: slow ? 1 : repeats, warmup: slow ? 0 : 1 });
      const s = summarize(times);
      const flops = kernel.flops?.(args);
      const rec: BenchRecord = {
        kernel: c.kernel, backend: b.name, size: c.size, threads: engine.threads, ...s, repeats: times.length,
        ...(flops ? { gflops: flops / s.medianSeconds / 1e9 } : {}),
        ...(note ? { note } : {}),
      };
      records.push(rec);
      o.onRecord?.(rec);
    }
  }
  return records;
}
