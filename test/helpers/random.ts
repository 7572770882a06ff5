import { mulberry32 } from '../../bench/random.js';
import { denseFrom, type Dense } from '../../src/data/matrix.js';

/** Seeded random dense matrix with entries in [-1, 1), optionally quantized to force ties. */
export function randomDense(rows: number, cols: number, seed: number, levels = 0): Dense {
  const rnd = mulberry32(seed);
  const d = denseFrom(rows, cols);
  for (let i = 0; i < d.data.length; i++) {
    const x = rnd() * 2 - 1;
    d.data[i] = levels ? Math.round(x * levels) / levels : x;
  }
  return d;
}

/** Seeded random rows × f factors, uniform in [-scale/2, scale/2). */
export function randomFactors(rows: number, f: number, seed: number, scale: number): Dense {
  const rnd = mulberry32(seed);
  const d = denseFrom(rows, f);
  for (let i = 0; i < d.data.length; i++) d.data[i] = (rnd() - 0.5) * scale;
  return d;
}

export { mulberry32 };
