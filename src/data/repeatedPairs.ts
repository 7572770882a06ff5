/**
 * Whether an interaction table repeats a (user, item) pair: the readers' check before they apply
 * the duplicates policy (./readers.ts), in O(n) without sorting the rows. The columnar readers run
 * it on two threads (repeatedPairPart): each sorts half of the rows and checks half of the users.
 */

/**
 * Whether some (user, item) pair occurs twice, in O(n) with one items-sized scratch array: the
 * rows are visited user by user (in file order when the file is grouped by user, as most are;
 * else through a counting sort of the positions by user), and mark[item] holds the last user
 * run that had the item. Most inputs have no repeat, and then the readers skip the sorts that
 * resolve repeats (resolveDuplicates in ./readers.ts).
 */
export function hasRepeatedPair(user: Int32Array, item: Int32Array, n: number, U: number, I: number): boolean {
  const mark = new Int32Array(I).fill(-1);
  // grouped: each user's rows contiguous
  const seen = new Uint8Array(U);
  let grouped = true;
  for (let p = 0, prev = -1; p < n; p++) {
    const u = user[p];
    if (u === prev) continue;
    if (seen[u]) { grouped = false; break; }
    seen[u] = 1;
    prev = u;
  }
  if (grouped) {
    for (let p = 0, run = -1, prev = -1; p < n; p++) {
      const u = user[p];
      if (u !== prev) { run++; prev = u; }
      const i = item[p];
      if (mark[i] === run) return true;
      mark[i] = run;
    }
    return false;
  }
  // the items themselves are scattered by user (sequential reads, one write per row), not positions
  const start = new Int32Array(U + 1);
  for (let p = 0; p < n; p++) start[user[p] + 1]++;
  for (let k = 0; k < U; k++) start[k + 1] += start[k];
  const itemsByUser = new Int32Array(n);
  const cursor = start.slice(0, U);
  for (let p = 0; p < n; p++) itemsByUser[cursor[user[p]]++] = item[p];
  for (let u = 0; u < U; u++) {
    for (let k = start[u], end = start[u + 1]; k < end; k++) {
      const i = itemsByUser[k];
      if (mark[i] === u) return true;
      mark[i] = u;
    }
  }
  return false;
}

/**
 * What two threads share to check one table together (repeatedPairPart): the id columns and the
 * scratch arrays, all on SharedArrayBuffers.
 */
export interface SharedPairCheck {
  user: Int32Array;
  item: Int32Array;
  n: number;
  users: number;
  items: number;
  /** 2 × users: counts[t · users + u] = the rows of user u among thread t's rows */
  counts: Int32Array;
  /** n: the items of the rows, grouped by user */
  itemsByUser: Int32Array;
  /** [arrivals at the first barrier, at the second, 1 when a thread gave up] */
  sync: Int32Array;
}

/** The shared state for a table (see SharedPairCheck); null where SharedArrayBuffer is missing. */
export function sharedPairCheck(user: Int32Array, item: Int32Array, n: number, users: number, items: number): SharedPairCheck | null {
  if (typeof SharedArrayBuffer !== 'function' || !(user.buffer instanceof SharedArrayBuffer) || !(item.buffer instanceof SharedArrayBuffer)) return null;
  const shared = (length: number): Int32Array => new Int32Array(new SharedArrayBuffer(4 * Math.max(1, length)));
  return { user, item, n, users, items, counts: shared(2 * users), itemsByUser: shared(n), sync: shared(3) };
}

/**
 * Thread t's (0 or 1) share of hasRepeatedPair, run by both threads at once: a counting sort of
 * the items by user split by rows (thread t counts, then places, the rows of its half of the table
 * after the other thread's counts for the same user: the two halves interleave into one array, each
 * user's items contiguous), then the mark check of hasRepeatedPair over half of the users. Two
 * barriers on `sync` (Atomics.wait) separate the phases. Returns whether thread t's users repeat a
 * pair, or undefined when the other thread did not arrive within `timeoutMs` (the caller then checks alone).
 */
export function repeatedPairPart(s: SharedPairCheck, t: 0 | 1, timeoutMs: number): boolean | undefined {
  const { user, item, n, users: U, items: I, counts, itemsByUser, sync } = s;
  const half = n >>> 1;
  const r0 = t === 0 ? 0 : half, r1 = t === 0 ? half : n;
  const mine = counts.subarray(t * U, (t + 1) * U);
  for (let p = r0; p < r1; p++) mine[user[p]]++;
  if (!barrier(sync, 0, timeoutMs)) return undefined;
  // start[u]: user u's first place; thread 1's rows of u follow thread 0's
  const start = new Int32Array(U + 1);
  const cursor = new Int32Array(U);
  for (let u = 0; u < U; u++) {
    const c0 = counts[u], c1 = counts[U + u];
    cursor[u] = start[u] + (t === 0 ? 0 : c0);
    start[u + 1] = start[u] + c0 + c1;
  }
  for (let p = r0; p < r1; p++) itemsByUser[cursor[user[p]]++] = item[p];
  if (!barrier(sync, 1, timeoutMs)) return undefined;
  const u0 = t === 0 ? 0 : U >>> 1, u1 = t === 0 ? U >>> 1 : U;
  const mark = new Int32Array(I).fill(-1);
  for (let u = u0; u < u1; u++) {
    for (let k = start[u], end = start[u + 1]; k < end; k++) {
      const i = itemsByUser[k];
      if (mark[i] === u) return true;
      mark[i] = u;
    }
  }
  return false;
}

/** How long a thread of repeatedPairPart waits for the other at a barrier before giving up (the caller then checks alone). */
export const PAIR_CHECK_TIMEOUT_MS = 20_000;

/** Arrives at barrier `at` of two threads and waits for the other; false (and the give-up flag set) after timeoutMs. */
function barrier(sync: Int32Array, at: number, timeoutMs: number): boolean {
  Atomics.add(sync, at, 1);
  Atomics.notify(sync, at);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (Atomics.load(sync, 2) !== 0) return false;
    const v = Atomics.load(sync, at);
    if (v >= 2) return true;
    const left = deadline - Date.now();
    if (left <= 0) {
      Atomics.store(sync, 2, 1);
      Atomics.notify(sync, 0); Atomics.notify(sync, 1);
      return false;
    }
    Atomics.wait(sync, at, v, Math.min(left, 100));
  }
}
