/**
 * The one way a test is skipped: `skip(test, name, reason)` prints `SKIP name: reason` and
 * registers `name` as a skipped uvu test, so the totals count it as skipped rather than passed.
 * scripts/run-tests.mjs checks that the number of `SKIP …:` lines equals uvu's skipped count,
 * so a test cannot print SKIP and still be counted as passed.
 *
 * A skip is decided when the file loads (a probe, a file that is absent), never inside a running
 * test: uvu cannot turn a started test into a skipped one.
 */
import type { Callback, Test } from 'uvu';

export function skip(test: Test, name: string, reason: string): void {
  console.log(`SKIP ${name}: ${reason}`);
  test.skip(name);
}

/**
 * `test` itself when `reason` is null; else a stand-in with test's signature that skips every
 * test given to it, with the reason: `const ml100k = testOrSkip(test, absent ? 'why' : null)`.
 */
export function testOrSkip(test: Test, reason: string | null): (name: string, fn: Callback) => void {
  return reason === null ? test : (name: string) => skip(test, name, reason);
}
