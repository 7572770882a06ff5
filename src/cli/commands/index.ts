/** Commands contributed by the model, evaluation and pipeline layers. */
import type { Command } from 'commander';
import { register as registerReplay } from './replay.js';
import { register as registerPrecompute } from './precompute.js';
import { register as registerSimilarity } from './similarity.js';
import { register as registerEval } from './eval.js';
import { register as registerCalibrate } from './calibrate.js';

export const extraCommands: Array<(program: Command) => void> = [];
extraCommands.push(registerSimilarity);
extraCommands.push(registerEval);
extraCommands.push(registerPrecompute);
extraCommands.push(registerReplay);
extraCommands.push(registerCalibrate);
