/**
 * Backend registry (the TensorFlow.js pattern): backends are registered by name with a
 * priority, each implements some kernels, and a probe says whether it runs here and why
 * not. Built-in backends are imported lazily so that one failing to load (a missing
 * .node or .wasm file) never breaks the others.
 */
import type { Backend, BackendProbe } from './types.js';
import { isKernelName, type KernelName } from '../kernels/contract.js';

/** Built-in backends: name → loader. Loaded in workers too, by name. */
const builtinLoaders: Record<string, () => Promise<Backend>> = {
  js: async () => (await import('./js/index.js')).jsBackend,
  wasm: async () => (await import('./wasm/index.js')).wasmBackend,
  native: async () => (await import('./native/index.js')).nativeBackend,
  cuda: async () => (await import('./native/cuda.js')).cudaBackend,
  gpujs: async () => (await import('./gpujs/index.js')).gpujsBackend,
};

export interface BackendStatus extends BackendProbe {
  name: string;
  priority: number;
  threading: Backend['threading'];
  kernels: KernelName[];
  /** true when pool workers can load this backend (built in, or registered with a module URL); else it runs inline */
  loadableInWorkers: boolean;
}

export interface RegisterOptions {
  /**
   * URL of an ES module whose export `backend` is this backend (e.g. `new URL('./my-backend.js',
   * import.meta.url).href`). Pool workers import it to run the backend's tasks in parallel;
   * without it a 'pool' backend runs inline on the calling thread.
   */
  module?: string;
}

const loaded = new Map<string, Promise<Backend | Error>>();
const custom = new Map<string, { backend: Backend; module?: string }>();
const probes = new Map<string, Promise<BackendStatus>>();

function builtinBackendNames(): string[] {
  return Object.keys(builtinLoaders);
}

/** Register a backend from code (plugins, tests). Replaces one of the same name. */
export function registerBackend(b: Backend, opts: RegisterOptions = {}): void {
  custom.set(b.name, { backend: b, module: opts.module });
  loaded.set(b.name, Promise.resolve(b));
  probes.delete(b.name);
}

export function unregisterBackend(name: string): void {
  custom.delete(name);
  loaded.delete(name);
  probes.delete(name);
}

export function backendNames(): string[] {
  return [...new Set([...builtinBackendNames(), ...custom.keys()])];
}

/** The module URL pool workers load a registered backend from (undefined for built-ins and inline-only backends). */
export function backendModule(name: string): string | undefined {
  return custom.get(name)?.module;
}

/** The backend module, or the Error that loading it raised. */
export function loadBackend(name: string): Promise<Backend | Error> {
  let p = loaded.get(name);
  if (!p) {
    const loader = builtinLoaders[name];
    if (!loader) return Promise.resolve(new RangeError(`unknown backend '${name}' (known: ${backendNames().join(', ')})`));
    p = loader().catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
    loaded.set(name, p);
  }
  return p;
}

export function probeBackend(name: string): Promise<BackendStatus> {
  let p = probes.get(name);
  if (!p) {
    p = (async (): Promise<BackendStatus> => {
      const b = await loadBackend(name);
      if (b instanceof Error) {
        return { name, priority: -1, threading: 'pool', kernels: [], loadableInWorkers: false, available: false, reason: `failed to load: ${firstLine(b.message)}` };
      }
      let probe: BackendProbe;
      try {
        probe = await b.probe();
      } catch (e) {
        probe = { available: false, reason: `probe failed: ${firstLine(e instanceof Error ? e.message : String(e))}` };
      }
      const kernels = Object.keys(b.kernels).filter(isKernelName).filter((k) => typeof b.kernels[k] === 'function');
      const entry = custom.get(name);
      const loadableInWorkers = !entry || entry.module !== undefined;
      return { name, priority: b.priority, threading: b.threading, kernels, loadableInWorkers, ...probe };
    })();
    probes.set(name, p);
  }
  return p;
}

export async function probeAll(): Promise<BackendStatus[]> {
  return Promise.all(backendNames().map(probeBackend));
}

function firstLine(s: string): string {
  return s.split('\n')[0];
}
