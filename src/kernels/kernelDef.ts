/**
 * What a kernel is. A kernel is a pure computation on typed arrays whose output is a set of
 * rows: `impl(args, out, rowStart, rowEnd)` fills rows [rowStart, rowEnd) of `out` and touches
 * nothing else, so the engine can cut a call into row ranges, run them on any backend or
 * worker, and stitch the result by simply sharing `out`.
 *
 * Every kernel has a reference implementation in TypeScript — the oracle that every backend is
 * tested against. The table of all kernels, by name, is ./contract.ts.
 */

export interface KernelCallOptions {
  /** threads a backend with its own thread pool may use */
  threads?: number;
  signal?: AbortSignal;
}

/** One backend's implementation of a kernel: fills rows [rowStart, rowEnd) of `out`. */
export type KernelImpl<A, O> = (args: A, out: O, rowStart: number, rowEnd: number, opts?: KernelCallOptions) => void | Promise<void>;

export interface KernelDef<A, O> {
  name: string;
  /** throws a RangeError/TypeError naming the offending value */
  validate(args: A): void;
  /** number of output rows (the unit of splitting) */
  rows(args: A): number;
  /** a fresh output (on shared memory) for args */
  allocate(args: A): O;
  /** the oracle */
  reference: KernelImpl<A, O>;
  /** false when rows cannot be computed independently (e.g. one SGD epoch); run as one task */
  splittable?: boolean;
  /**
   * true when the kernel updates arrays in its args in place (SGD/BPR epochs). Such a call
   * cannot be retried on another backend after a failure (the args may be half-updated), so
   * the engine reports the failure instead of failing over.
   */
  mutatesArgs?: boolean;
  /**
   * Work done once per call before the rows are split across the worker pool (e.g. a transpose
   * or a weighting every row range needs); returns the args the pool's tasks receive. Inline
   * calls skip it: each backend derives what it needs (or reads it from the prepared args).
   */
  prepare?(args: A): A;
  /** floating-point operations of a whole call, for GFLOP/s figures */
  flops?(args: A): number;
}
