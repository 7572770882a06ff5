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

/**
 * The shape of an output, mirroring its structure: a number is the length of a typed array (or
 * the value of a scalar field such as a Dense's rows and cols); an object lists its fields.
 */
export type OutputShape = number | { readonly [field: string]: OutputShape };

/** The shape of a rows × cols Dense. */
export function denseShape(rows: number, cols: number): OutputShape {
  return { rows, cols, data: rows * cols };
}

/** Why `out` does not have `shape` (the first difference, by path), or null when it does. */
export function outputMismatch(out: unknown, shape: OutputShape, path = 'out'): string | null {
  if (typeof shape === 'number') {
    if (ArrayBuffer.isView(out)) return (out as unknown as ArrayLike<number>).length === shape ? null : `${path} has length ${(out as unknown as ArrayLike<number>).length}, expected ${shape}`;
    return out === shape ? null : `${path} is ${String(out)}, expected ${shape}`;
  }
  if (!out || typeof out !== 'object') return `${path} is missing`;
  for (const [field, s] of Object.entries(shape)) {
    const why = outputMismatch((out as Record<string, unknown>)[field], s, `${path}.${field}`);
    if (why) return why;
  }
  return null;
}

export interface KernelDef<A, O> {
  name: string;
  /** throws a RangeError/TypeError naming the offending value */
  validate(args: A): void;
  /** number of output rows (the unit of splitting) */
  rows(args: A): number;
  /** a fresh output (on shared memory) for args */
  allocate(args: A): O;
  /**
   * The shape `allocate` gives, for kernels that can write into a caller's output instead
   * (RunOptions.out: buffers reused step after step, no page faults on fresh memory). Such a
   * kernel writes every element of its rows, whatever the output held before.
   */
  outputShape?(args: A): OutputShape;
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
