/** Binary search on sorted arrays: the one implementation the other layers use. */

/**
 * The first index t of `a` with pred(a[t]) true, where pred is false then true along `a`
 * (a.length when it is never true). O(log n) calls of pred.
 */
export function partitionPoint(a: ArrayLike<number>, pred: (x: number) => boolean): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(a[mid])) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The index of x in ascending `a`, or −1 when it is not there. */
export function binarySearch(a: ArrayLike<number>, x: number): number {
  const t = partitionPoint(a, (v) => v >= x);
  return t < a.length && a[t] === x ? t : -1;
}
