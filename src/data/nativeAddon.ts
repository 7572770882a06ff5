/**
 * Loading this package's compiled modules (build/Release/*.node): the path, the version check
 * and the cached result. Used by the native and CUDA backends and by the readers' native fast
 * path (./fastReader.ts); it lives in the data layer, the lowest, so that all of them can.
 *
 * A module is loaded lazily, once, so a missing or broken .node file never breaks importing the
 * package; a module built for another version of the package (its `version` export,
 * native/addon/module_info.h) is refused, with the command that rebuilds it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The limits every module exports (native/addon/module_info.h); defined in C++ only. */
export interface NativeModuleLimits {
  /** largest row count, id or index a kernel takes (ids and CSR indices are int32) */
  maxIndex: number;
}

/** What affinity_native.node and affinity_cuda.node both export besides their kernels. */
export interface NativeModule {
  /** the affinity package version the module was built for; absent in a module built before it was exported */
  version?: string;
  limits: NativeModuleLimits;
}

/**
 * Package root: this file runs as dist/src/data/nativeAddon.js, three directories below it
 * (data → src → dist → root).
 */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const requireFromRoot = createRequire(path.join(packageRoot, 'package.json'));

/**
 * A loaded module, or why there is none. `stale`: the module loaded but was built for another
 * version of the package, and `error` already says how to rebuild it.
 */
export type AddonLoad<T> = { addon: T; file: string } | { error: string; file: string; stale?: true };

let ownVersion: string | undefined;
/** This package's version (package.json), the one a loaded .node must have been built for. */
export function packageVersion(): string {
  ownVersion ??= String((JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version?: unknown }).version);
  return ownVersion;
}

/**
 * null when a module that exports `built` as its version may be called by this package (version
 * `expected`), else the reason it may not and what to do. A module's argument conventions change
 * between versions, so any difference (or no version at all: built before it was exported) is refused.
 */
export function addonVersionMismatch(file: string, built: unknown, expected: string): string | null {
  if (built === expected) return null;
  const was = typeof built === 'string' && built !== '' ? built : '(unknown: the module exports no version)';
  return `${file} was built for affinity ${was}, this is ${expected}; rebuild with \`npx affinity build\``;
}

/**
 * Loads <dir>/<name> (default build/Release) once and checks the version it was built for; the
 * result (module or reason) is cached.
 */
export function addonLoader<T extends NativeModule>(name: string, dir = path.join(packageRoot, 'build', 'Release')): () => AddonLoad<T> {
  let cached: AddonLoad<T> | undefined;
  return () => {
    if (cached) return cached;
    const file = path.join(dir, name);
    const shown = path.relative(packageRoot, file);
    if (!existsSync(file)) {
      cached = { error: `${shown} not found`, file };
    } else {
      try {
        const addon = requireFromRoot(file) as T;
        const mismatch = addonVersionMismatch(shown, addon.version, packageVersion());
        cached = mismatch ? { error: mismatch, file, stale: true } : { addon, file };
      } catch (e) {
        cached = { error: `${shown} failed to load: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, file };
      }
    }
    return cached;
  };
}

/** The reason a module is unavailable, with `hint` (how to build it) unless the reason already says how. */
export function unavailableReason(r: { error: string; stale?: true }, hint: string): string {
  return r.stale ? r.error : `${r.error}; ${hint}`;
}
