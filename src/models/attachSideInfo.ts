/**
 * How models receive side information. A model that uses item/user features implements
 * `setSideInfo({items?, users?})`, called before fit(); alternatively the params `items=FILE` /
 * `users=FILE` name files that fit() reads with readItemFeatures/readUserFeatures (format from the
 * file name). The CLI/library glue is one call:
 *
 *   const items = await readItemFeatures('u.item'); const users = await readUserFeatures('u.user');
 *   attachSideInfo(model, { items, users });   // false when the model takes no side info
 */
import type { Model } from './types.js';
import { readItemFeatures, readUserFeatures, type SideInfo } from '../data/sideInfo.js';

export interface SideInfoInput {
  items?: SideInfo;
  users?: SideInfo;
}

export interface SideInfoAware {
  setSideInfo(info: SideInfoInput): void;
}

export function takesSideInfo(m: unknown): m is SideInfoAware {
  return typeof m === 'object' && m !== null && typeof (m as Partial<SideInfoAware>).setSideInfo === 'function';
}

/** Give side info to a model that takes it; returns false (and does nothing) for other models. */
export function attachSideInfo(model: Model, info: SideInfoInput): boolean {
  if (!takesSideInfo(model)) return false;
  model.setSideInfo(info);
  return true;
}

/** Side info from params (`items`/`users` file paths) unless already set. */
export async function sideInfoFromParams(have: SideInfoInput, itemsPath: string | undefined, usersPath: string | undefined): Promise<SideInfoInput> {
  const out: SideInfoInput = { ...have };
  if (!out.items && itemsPath) out.items = await readItemFeatures(itemsPath);
  if (!out.users && usersPath) out.users = await readUserFeatures(usersPath);
  return out;
}

/**
 * Separate string-valued path params (e.g. items=FILE) from the rest. `names` maps each key to
 * its accepted spellings; a non-string value is a RangeError naming the parameter.
 */
export function pathParams<K extends string>(model: string, params: Record<string, unknown> | undefined, names: Record<K, string[]>): { rest: Record<string, unknown>; paths: Partial<Record<K, string>> } {
  const rest: Record<string, unknown> = { ...(params ?? {}) };
  const paths: Partial<Record<K, string>> = {};
  for (const key of Object.keys(names) as K[]) {
    for (const n of names[key]) {
      if (!(n in rest)) continue;
      const v = rest[n];
      delete rest[n];
      if (v === undefined) continue;
      if (typeof v !== 'string' || v === '') throw new RangeError(`${model}: ${n} must be a file path, got ${JSON.stringify(v)}`);
      if (paths[key] !== undefined) throw new RangeError(`${model}: parameter '${n}' given twice`);
      paths[key] = v;
    }
  }
  return { rest, paths };
}
