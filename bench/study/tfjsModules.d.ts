/**
 * The parts of tfjs that bench/study/tfjsGemm.ts uses. tfjs is not a dependency of affinity (the study asks
 * for `npm i --no-save @tensorflow/tfjs-core @tensorflow/tfjs-backend-wasm`), so tsc must compile the study
 * without the packages' own types.
 */
declare module '@tensorflow/tfjs-core' {
  export interface Tensor { dispose(): void }
  export const version_core: string;
  export function setBackend(name: string): Promise<boolean>;
  export function ready(): Promise<void>;
  export function getBackend(): string;
  export function env(): { getAsync(flag: string): Promise<unknown> };
  export function tensor(values: Float32Array, shape: number[], dtype: 'float32'): Tensor;
  export function matMul(a: Tensor, b: Tensor, transposeA: boolean, transposeB: boolean): Tensor;
}

declare module '@tensorflow/tfjs-backend-wasm' {
  export const version_wasm: string;
  export function setThreadsCount(n: number): void;
  export function getThreadsCount(): number;
}
