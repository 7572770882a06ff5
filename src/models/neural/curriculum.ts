/**
 * The curriculum (easy → hard pacing) and popularity balancing of the factorization models, for
 * the neural models' training examples (Mult-VAE: users; two-tower: interactions). The pacing
 * c(e), the difficulty sort and the balancing weights pop_i^−γ (mean 1) are the shared
 * ../curriculum.ts; this module adds the choice of difficulty key these models offer:
 *
 *   curriculum 'item-popularity' | 'user-activity' | 'loss' ranks the examples easiest first
 *     (examples of popular items / of active users / with the lowest current loss first).
 */
import type { ParamTable } from '../params.js';
import { checkPacing, curriculumFraction, pacingParams, type PacingOptions } from '../curriculum.js';

export type Curriculum = 'none' | 'item-popularity' | 'user-activity' | 'loss';

export interface CurriculumParams extends PacingOptions {
  curriculum: Curriculum;
  balanceGamma: number;
}

/** The parameter specs, as the factorization models spell them. */
export const curriculumParamTable: ParamTable = {
  curriculum: { names: [], type: 'enum', def: 'none', choices: ['none', 'item-popularity', 'user-activity', 'loss'] },
  ...pacingParams(),
};

/** RangeError for a curriculum_start above 1 (the table checks > 0). */
export function checkCurriculum(model: string, p: CurriculumParams): void {
  checkPacing(model, p);
}

/** The fraction of the ranked examples epoch e (0-based) of `epochs` trains on (1 without a curriculum). */
export function epochFraction(p: CurriculumParams, e: number, epochs: number): number {
  return p.curriculum === 'none' ? 1 : curriculumFraction(e, epochs, p);
}
