/**
 * The process engine: the one a library call uses when its context names none. It reads the
 * environment once, when first needed (AFFINITY_BACKEND: the default backend; AFFINITY_THREADS),
 * and ranks backends by this machine's cached calibration table when there is one.
 */
import { Engine } from './engine.js';
import { useCalibration } from './calibration.js';

let processEngine: Engine | null = null;

export function getEngine(): Engine {
  if (!processEngine) {
    processEngine = new Engine({
      threads: Number(process.env.AFFINITY_THREADS) || undefined,
      backend: process.env.AFFINITY_BACKEND || undefined,
    });
    useCalibration(processEngine);
  }
  return processEngine;
}

/** Stop the process engine's worker pool (the process can then exit). */
export async function closeEngine(): Promise<void> {
  if (processEngine) await processEngine.close();
}
