/** Every model, by CLI name. (Neighbourhood models for now; the lead extends this with the factorization models.) */
export { neighbourhoodModels as allModels } from './neighbourhood/index.js';
