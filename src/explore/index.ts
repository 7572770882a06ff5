/** Exploration: bandit re-rankers over a model's candidates, offline replay evaluation, MMR diversification. */
export * from './bandits.js';
export * from './replay.js';
export * from './mmr.js';
