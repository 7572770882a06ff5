/** Every model, by CLI name (kebab case). */
import type { ModelFactory } from './types.js';
import { neighbourhoodModels } from './neighbourhood/index.js';
import { factorizationModels } from './factorization/index.js';
import { contentModels } from './content/index.js';

export const allModels: Record<string, ModelFactory> = {
  ...neighbourhoodModels,
  ...factorizationModels,
  ...contentModels,
};

export function modelNames(): string[] {
  return Object.keys(allModels);
}
