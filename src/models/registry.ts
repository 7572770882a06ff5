/** Every model, by CLI name (kebab case). */
import type { ModelFactory } from './types.js';
import { componentModels } from './components.js';
import { contentModels } from './content/index.js';

export const allModels: Record<string, ModelFactory> = {
  ...componentModels,
  ...contentModels,
};

export function modelNames(): string[] {
  return Object.keys(allModels);
}
