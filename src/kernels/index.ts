/** The kernels: the contract (./contract.ts) and each kernel's reference implementation. */
export * from './contract.js';
