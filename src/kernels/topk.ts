/**
 * Bounded top-k selection: keeps the k best (score, id) pairs, best first.
 * Order: higher score first; equal scores by lower id. NaN scores are never kept.
 * A min-heap of size k keyed on the worst kept entry.
 */
export class TopKHeap {
  readonly k: number;
  private size = 0;
  private readonly ids: Int32Array;
  private readonly scores: Float64Array;

  constructor(k: number) {
    this.k = k;
    this.ids = new Int32Array(k);
    this.scores = new Float64Array(k);
  }

  reset(): void { this.size = 0; }

  /** a is worse than b: lower score, or equal score and higher id */
  private worse(i: number, j: number): boolean {
    const si = this.scores[i], sj = this.scores[j];
    return si < sj || (si === sj && this.ids[i] > this.ids[j]);
  }

  /** Would (score, id) enter a full heap? */
  private beats(score: number, id: number): boolean {
    const s0 = this.scores[0];
    return score > s0 || (score === s0 && id < this.ids[0]);
  }

  push(id: number, score: number): void {
    if (this.k === 0 || score !== score) return;
    if (this.size < this.k) {
      let i = this.size++;
      this.ids[i] = id; this.scores[i] = score;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.worse(i, parent)) break;
        this.swap(i, parent); i = parent;
      }
      return;
    }
    if (!this.beats(score, id)) return;
    this.ids[0] = id; this.scores[0] = score;
    this.siftDown(0, this.size);
  }

  private siftDown(i: number, n: number): void {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < n && this.worse(l, m)) m = l;
      if (r < n && this.worse(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m); i = m;
    }
  }

  private swap(i: number, j: number): void {
    const ti = this.ids[i]; this.ids[i] = this.ids[j]; this.ids[j] = ti;
    const ts = this.scores[i]; this.scores[i] = this.scores[j]; this.scores[j] = ts;
  }

  /** Write the kept entries best-first into ids/scores at offset; unused slots get id -1, score -Infinity. Empties the heap. */
  drainInto(ids: Int32Array, scores: Float32Array, offset: number): void {
    const n = this.size;
    // heap-sort in place: repeatedly move the worst to the end
    for (let end = n - 1; end > 0; end--) {
      this.swap(0, end);
      this.siftDown(0, end);
    }
    // now ordered best-first? after heap-sort with a "worst at root" heap, index 0 is best
    for (let i = 0; i < n; i++) { ids[offset + i] = this.ids[i]; scores[offset + i] = this.scores[i]; }
    for (let i = n; i < this.k; i++) { ids[offset + i] = -1; scores[offset + i] = -Infinity; }
    this.size = 0;
  }
}
