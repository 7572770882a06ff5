/** Every `affinity` command, in the order `affinity --help` lists them; each registers itself with the CLI's engine context. */
import type { Command } from 'commander';
import type { CliEdge } from '../edge.js';
import { register as registerInfo } from './info.js';
import { register as registerGenerate } from './generate.js';
import { register as registerDemo } from './demo.js';
import { register as registerBench } from './bench.js';
import { register as registerSimilarity } from './similarity.js';
import { register as registerEval } from './eval.js';
import { register as registerPrecompute } from './precompute.js';
import { register as registerReplay } from './replay.js';
import { register as registerCalibrate } from './calibrate.js';
import { register as registerWorker } from './worker.js';
import { register as registerVerify } from './verify.js';

export const commands: Array<(program: Command, edge: CliEdge) => void> = [
  registerInfo, registerGenerate, registerDemo, registerBench,
  registerSimilarity, registerEval, registerPrecompute, registerReplay, registerCalibrate,
  registerWorker, registerVerify,
];
