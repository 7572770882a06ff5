/** What a benchmark case is (the runner and the cases are in ./suites.ts). */

export type Suite = 'quick' | 'full';

/** What a case hands the harness for one backend. */
export interface Prepared {
  run(): Promise<unknown>;
  /** untimed, before every call: reset what a mutating kernel changed */
  before?(): void;
  /** flops of one timed call */
  flops?: number;
  /** throughput in another unit: `count` units per timed call (e.g. interactions) */
  units?: { count: number; unit: string };
  /** full work ÷ timed work, when only a sample was timed */
  fullScale?: number;
  /** threads actually used, when not the engine's (a direct single-thread call) */
  threads?: number;
  note?: string;
}

export interface BenchCase {
  /** kernel name, or fit:<model> / job:precompute */
  kernel: string;
  kind: 'kernel' | 'fit' | 'job';
  size: string;
  suites: Suite[];
  anchor?: string;
  /** fewer repeats than the suite's for expensive cases */
  maxRepeats?: number;
  prepare(backend: string): Promise<Prepared>;
}

