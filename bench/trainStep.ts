/**
 * One training step of a 2-block self-attention model (issue 18's goal: a full step — forward,
 * backward and Adam — within 2× the time of its GEMMs alone). The model is two pre-LN Transformer
 * blocks (1 head, FFN hidden = d, ReLU, dropout 0.2) on a batch of `sequences` × `length`
 * positions × d features with causal and padding masks; the loss is Σ g ⊙ output for a fixed g.
 *
 * The record's throughput is sequences/s; its note gives the time the step spent in gemm calls
 * (summed from the engine's per-call records) and the ratio step ÷ gemm.
 */
import type { RunRecord } from '../src/engine/engine.js';
import { getEngine } from '../src/engine/processEngine.js';
import { Rng } from '../src/data/random.js';
import { Runtime } from '../src/nn/runtime.js';
import { ParamArena } from '../src/nn/params.js';
import { TransformerBlock } from '../src/nn/layers/transformer.js';
import { Adam } from '../src/nn/optimizer.js';
import type { Dense } from '../src/data/matrix.js';
import { randomFloat32 } from './random.js';
import type { BenchCase, Prepared, Suite } from './benchCase.js';

export function trainStepCase(o: { sequences: number; length: number; dim: number; suites: Suite[]; maxRepeats?: number }): BenchCase {
  const { sequences: S, length: T, dim: d } = o;
  return {
    kernel: 'train:transformer-step', kind: 'fit', size: `${S} seq x ${T} pos x ${d}`, suites: o.suites, maxRepeats: o.maxRepeats,
    async prepare(backend): Promise<Prepared> {
      const rt = new Runtime({ engine: getEngine(), backend }, 1);
      const arena = new ParamArena();
      const blocks = [0, 1].map((i) => new TransformerBlock(rt, arena, `block${i}`, d, { dropout: 0.2 }));
      arena.allocate(new Rng(2));
      const adam = new Adam(rt, arena, { lr: 1e-3 });
      const x: Dense = { rows: S * T, cols: d, data: randomFloat32(S * T * d, 3) };
      const g: Dense = { rows: S * T, cols: d, data: randomFloat32(S * T * d, 4) };
      // left padding: sequence s has its first (s mod T/2) positions empty
      const keyValid = new Uint8Array(S * T);
      for (let s = 0; s < S; s++) keyValid.fill(1, s * T + (s % Math.floor(T / 2)), (s + 1) * T);
      const batch = { sequences: S, length: T, keyValid };
      const stepTimes: number[] = [], gemmTimes: number[] = [];
      let gemmSeconds = 0;
      const step = async (): Promise<void> => {
        const t0 = performance.now();
        rt.training = true;
        rt.beginStep();
        let h = x;
        for (const b of blocks) h = await b.forward(h, batch);
        let dh = g;
        for (let i = blocks.length - 1; i >= 0; i--) dh = await blocks[i].backward(dh);
        await adam.step();
        rt.training = false;
        stepTimes.push((performance.now() - t0) / 1000);
      };
      return {
        async run() {
          gemmSeconds = 0;
          const stop = getEngine().observe((r: RunRecord) => { if (r.kernel === 'gemm') gemmSeconds += r.seconds; });
          try { await step(); } finally { stop(); }
          gemmTimes.push(gemmSeconds);
        },
        units: { count: S, unit: 'sequences/s' },
        get note() {
          const gs = median(gemmTimes), ss = median(stepTimes);
          return `2 pre-LN blocks (1 head, d=${d}, FFN ${d}, dropout 0.2, causal+padding), forward+backward+Adam; gemm calls ${gs.toFixed(3)} s of ${ss.toFixed(3)} s per step (medians; step/gemm ${(ss / gs).toFixed(2)}×)`;
        },
      };
    },
  };
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
}
