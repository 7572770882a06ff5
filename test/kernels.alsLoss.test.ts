// alsHalfStep's `loss` option on every backend that runs it (js reference, native, wasm in the pool):
// the row terms it returns add up, through alsLossFromRows(), to alsLoss() of the factors before the
// step; asking for them does not change the step's factors (bit for bit on the same backend);
// `solve: false` evaluates only. Backends that cannot run it are skipped with the reason.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { skip } from './helpers/skip.js';
import { Engine } from '../src/engine/engine.js';
import { alsLoss, alsLossFromRows, gramian, totalConfidence, type AlsHalfStepArgs, type AlsMode, type AlsSolver } from '../src/kernels/alsHalfStep.js';
import { csrFromTriplets, transpose, type Csr, type Dense } from '../src/data/matrix.js';
import { probeBackend } from '../src/backends/registry.js';
import { mulberry32, randomFactors } from './helpers/random.js';

function randomMatrix(rows: number, cols: number, density: number, seed: number, mode: AlsMode): Csr {
  const rnd = mulberry32(seed);
  const r: number[] = [], c: number[] = [], v: number[] = [];
  for (let i = 0; i < rows; i++) {
    if (i % 7 === 3) continue; // empty rows
    for (let j = 0; j < cols; j++) {
      if (rnd() >= density) continue;
      let x: number;
      // implicit: negative (observed, p = 0), zero, exactly 1 and larger confidences
      if (mode === 'implicit') { const t = rnd(); x = t < 0.1 ? -(1 + 3 * rnd()) : t < 0.15 ? 0 : t < 0.25 ? 1 : 1 + 20 * rnd(); }
      else x = 1 + Math.floor(rnd() * 5);
      r.push(i); c.push(j); v.push(x);
    }
  }
  return csrFromTriplets(rows, cols, r, c, v);
}

const engine = new Engine({ threads: 2 });
const backends: string[] = [];
for (const name of ['js', 'native', 'wasm']) {
  const st = await probeBackend(name);
  if (st.available && st.kernels.includes('alsHalfStep')) backends.push(name);
  else skip(test, `alsHalfStep loss on ${name}`, st.available ? 'no alsHalfStep' : st.reason);
}

const cases: Array<{ mode: AlsMode; solver: AlsSolver; f: number }> = [
  { mode: 'implicit', solver: 'cg', f: 64 }, { mode: 'implicit', solver: 'cg', f: 13 }, { mode: 'implicit', solver: 'cholesky', f: 16 },
  { mode: 'explicit', solver: 'cg', f: 32 }, { mode: 'explicit', solver: 'cholesky', f: 7 },
];

for (const backend of backends) {
  test(`${backend}: the loss terms add up to alsLoss() before the step, and the step is unchanged`, async () => {
    for (const { mode, solver, f } of cases) {
      const users = 180, items = 90;
      const m = randomMatrix(users, items, 0.12, f * 31 + (mode === 'implicit' ? 1 : 2), mode);
      const X = randomFactors(users, f, 5, 0.2), Y = randomFactors(items, f, 6, 0.2);
      const lambda = 0.3;
      const label = `${backend} ${mode} ${solver} f=${f}`;
      // both sides: the user step (rows = users) and the item step (rows = items, X fixed)
      for (const [matrix, rowsF, other] of [[m, X, Y], [transpose(m), Y, X]] as Array<[Csr, Dense, Dense]>) {
        const base: AlsHalfStepArgs = { mode, solver, matrix, other, regularization: lambda, initial: rowsF, ...(mode === 'implicit' ? { gram: gramian(other) } : {}) };
        const plain = await engine.run('alsHalfStep', base, { backend });
        const withLoss = await engine.run('alsHalfStep', { ...base, loss: true }, { backend });
        assert.ok(withLoss.rowLoss && withLoss.rowLoss.length === matrix.rows, `${label}: rowLoss`);
        assert.equal(Array.from(withLoss.data), Array.from(plain.data), `${label}: the loss changed the step`);
        // the same objective from either side
        const want = alsLoss({ mode, matrix: m, userFactors: X, itemFactors: Y, regularization: lambda });
        const got = alsLossFromRows({ mode, matrix, other, regularization: lambda }, withLoss.rowLoss!, totalConfidence(matrix));
        assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)) * (backend === 'js' ? 1 : 1e3), `${label} rows=${matrix.rows}: loss ${got}, alsLoss ${want}`);
        const only = await engine.run('alsHalfStep', { ...base, loss: true, solve: false }, { backend });
        assert.equal(Array.from(only.data), Array.from(rowsF.data), `${label}: solve: false changed the factors`);
        assert.equal(Array.from(only.rowLoss!), Array.from(withLoss.rowLoss!), `${label}: solve: false gives other loss terms`);
      }
    }
  });
}

test('solve: false without loss is refused', async () => {
  const m = randomMatrix(10, 10, 0.3, 1, 'explicit');
  await engine.run('alsHalfStep', { mode: 'explicit', solver: 'cg', matrix: m, other: randomFactors(10, 4, 1, 1), regularization: 0.1, solve: false })
    .then(() => assert.unreachable('accepted'), (e: Error) => assert.match(e.message, /needs loss: true/));
});

test.after(() => engine.close());

test.run();
