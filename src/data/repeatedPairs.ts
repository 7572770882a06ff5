/**
 * Whether an interaction table repeats a (user, item) pair: the readers' check before they apply
 * the duplicates policy (./readers.ts), in O(n) without sorting the rows. The columnar readers run
 * it on two threads, each over half of the users (repeatedPairAmongUsers).
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
 * Whether some (user, item) pair with a user in [uLo, uHi) occurs twice: the rows of those users
 * counting-sorted by user (their items only), then, user by user, mark[item] holds the last user
 * that had the item. Two calls over complementary user ranges answer hasRepeatedPair.
 */
export function repeatedPairAmongUsers(user: Int32Array, item: Int32Array, n: number, I: number, uLo: number, uHi: number): boolean {
  const span = uHi - uLo;
  if (span <= 0) return false;
  const start = new Int32Array(span + 1);
  for (let p = 0; p < n; p++) {
    const u = user[p] - uLo;
    if (u >= 0 && u < span) start[u + 1]++;
  }
  for (let k = 0; k < span; k++) start[k + 1] += start[k];
  const itemsByUser = new Int32Array(start[span]);
  const cursor = start.slice(0, span);
  for (let p = 0; p < n; p++) {
    const u = user[p] - uLo;
    if (u >= 0 && u < span) itemsByUser[cursor[u]++] = item[p];
  }
  const mark = new Int32Array(I).fill(-1);
  for (let u = 0; u < span; u++) {
    for (let k = start[u], end = start[u + 1]; k < end; k++) {
      const i = itemsByUser[k];
      if (mark[i] === u) return true;
      mark[i] = u;
    }
  }
  return false;
}
