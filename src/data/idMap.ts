/**
 * External ids (strings or numbers) ↔ dense indices 0..size-1, both ways.
 * Indices are assigned in first-seen order and never change, so a map is stable
 * across runs on the same input. Numbers and their decimal strings are distinct ids
 * only if the caller mixes them; readers always produce strings.
 */
export type ExternalId = string | number;

export class IdMap {
  private readonly toIndex = new Map<ExternalId, number>();
  private readonly toExternal: ExternalId[] = [];

  static from(ids: Iterable<ExternalId>): IdMap {
    const m = new IdMap();
    for (const id of ids) m.add(id);
    return m;
  }

  get size(): number { return this.toExternal.length; }

  /** Index of id, adding it if new. */
  add(id: ExternalId): number {
    let i = this.toIndex.get(id);
    if (i === undefined) {
      i = this.toExternal.length;
      this.toIndex.set(id, i);
      this.toExternal.push(id);
    }
    return i;
  }

  /** Index of id, or undefined when unknown. */
  index(id: ExternalId): number | undefined { return this.toIndex.get(id); }

  has(id: ExternalId): boolean { return this.toIndex.has(id); }

  /** Index of id; throws a RangeError naming the id when unknown. */
  require(id: ExternalId, what = 'id'): number {
    const i = this.toIndex.get(id);
    if (i === undefined) throw new RangeError(`unknown ${what} '${id}'`);
    return i;
  }

  external(index: number): ExternalId {
    if (!(index >= 0 && index < this.toExternal.length)) throw new RangeError(`index ${index} out of range [0, ${this.toExternal.length})`);
    return this.toExternal[index];
  }

  ids(): readonly ExternalId[] { return this.toExternal; }

  clone(): IdMap { return IdMap.from(this.toExternal); }

  toJSON(): ExternalId[] { return this.toExternal.slice(); }
}
