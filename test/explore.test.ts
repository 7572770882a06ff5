import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/data/random.js';
import { fromTriplets } from '../src/data/interactions.js';
import {
  createPolicy, GreedyPolicy, LinUcbPolicy, RandomPolicy, ThompsonPolicy, Ucb1Policy, EpsilonGreedyPolicy, sampleBeta, type BanditPolicy,
} from '../src/explore/bandits.js';
import { loggedEvents, replay, replayOrder, replayWithRegret, type LoggedEvents } from '../src/explore/replay.js';
import { mmrRerank } from '../src/explore/mmr.js';
import { intraListDiversity } from '../src/eval/beyondAccuracy.js';

const close = (a: number, b: number, eps = 1e-9): void => assert.ok(Math.abs(a - b) <= eps, `${a} ≠ ${b}`);

/** Simulate T rounds of a Bernoulli bandit (arm i pays 1 with probability p[i]); returns total reward and picks. */
function simulate(policy: BanditPolicy, p: number[], T: number, seed: number): { reward: number; picks: number[] } {
  const env = new Rng(seed);
  const arms = p.map((_, i) => i);
  let reward = 0;
  const picks: number[] = [];
  for (let t = 0; t < T; t++) {
    const a = policy.select(arms);
    const r = env.next() < p[a] ? 1 : 0;
    policy.update(a, r);
    reward += r;
    picks.push(a);
  }
  return { reward, picks };
}

const P = [0.2, 0.25, 0.8, 0.3, 0.2]; // arm 2 is clearly best

test('Thompson, UCB1 and ε-greedy beat uniform random on a stream with a clearly best arm', () => {
  const T = 3000;
  const random = simulate(new RandomPolicy(1), P, T, 7).reward; // ≈ 0.35·3000 = 1050
  for (const policy of [new ThompsonPolicy(1, 1, 1), new Ucb1Policy(1), new EpsilonGreedyPolicy(0.1, 1)]) {
    const { reward, picks } = simulate(policy, P, T, 7);
    assert.ok(reward > 1.5 * random, `${policy.name}: ${reward} vs random ${random}`);
    // most of the last 1000 pulls go to the best arm
    const late = picks.slice(-1000).filter((a) => a === 2).length;
    assert.ok(late > 800, `${policy.name} pulled the best arm ${late}/1000 times late`);
  }
});

test('bandits are reproducible with seeds', () => {
  const run = (make: () => BanditPolicy) => simulate(make(), P, 500, 3).picks;
  assert.equal(run(() => new ThompsonPolicy(1, 1, 11)), run(() => new ThompsonPolicy(1, 1, 11)));
  assert.not.equal(run(() => new ThompsonPolicy(1, 1, 11)), run(() => new ThompsonPolicy(1, 1, 12)));
  assert.equal(run(() => new EpsilonGreedyPolicy(0.2, 5)), run(() => new EpsilonGreedyPolicy(0.2, 5)));
  assert.equal(run(() => createPolicy('egreedy', { epsilon: 0.2, seed: 5 })), run(() => new EpsilonGreedyPolicy(0.2, 5)));
  // Beta sampler: mean of Beta(2, 6) is 0.25
  const rng = new Rng(1);
  let s = 0;
  for (let n = 0; n < 20000; n++) s += sampleBeta(rng, 2, 6);
  close(s / 20000, 0.25, 0.01);
});

test('UCB1 tries every arm once first, in candidate order; greedy follows the model order until rewarded', () => {
  const u = new Ucb1Policy();
  const picks: number[] = [];
  for (let t = 0; t < 3; t++) { const a = u.select([7, 3, 9]); picks.push(a); u.update(a, 0); }
  assert.equal(picks, [7, 3, 9]);
  const g = new GreedyPolicy();
  assert.is(g.select([5, 6]), 5);
  g.update(6, 1);
  assert.is(g.select([5, 6]), 6);
  assert.throws(() => g.update(6, 2), /reward must be in \[0, 1\]/);
  assert.throws(() => g.select([]), /empty/);
  assert.throws(() => createPolicy('nope'), /unknown policy 'nope'/);
  assert.throws(() => createPolicy('egreedy', { epsilon: 2 }), /epsilon must be in \[0, 1\]/);
  assert.throws(() => createPolicy('linucb'), /needs item vectors/);
});

test('LinUCB learns which item vectors pay and beats random', () => {
  // 6 items in 2-d; reward probability = 0.9·x₀ + 0.05 → item 0 (1, 0) pays 0.95, item 5 (0, 1) pays 0.05
  const vec = [1, 0, 0.8, 0.2, 0.6, 0.4, 0.4, 0.6, 0.2, 0.8, 0, 1];
  const p = [0, 1, 2, 3, 4, 5].map((i) => 0.9 * vec[2 * i] + 0.05);
  const lin = new LinUcbPolicy({ rows: 6, cols: 2, data: vec }, 0.5);
  const r = simulate(lin, p, 2000, 4);
  const rnd = simulate(new RandomPolicy(2), p, 2000, 4);
  assert.ok(r.reward > 1.5 * rnd.reward, `linucb ${r.reward} vs random ${rnd.reward}`);
  assert.ok(r.picks.slice(-500).filter((a) => a === 0).length > 400);
});

// The hand-made log: candidates are always [10, 20, 30]
//   step  logged item  reward
//   1     10           1
//   2     20           1
//   3     10           0
//   4     30           1
//   5     40           1      (not a candidate: can never match)
const LOG: LoggedEvents = { user: Int32Array.from([0, 0, 0, 0, 0]), item: Int32Array.from([10, 20, 10, 30, 40]), reward: Float64Array.from([1, 1, 0, 1, 1]) };
const CANDS = () => [10, 20, 30];

test('replay matched-count logic on a hand-made log', () => {
  // greedy: picks 10 (all means 0, first in order) → match r=1; then 10 (mean 1) → no; 10 → match r=0
  //   (mean ½); 10 → no; 10 → no.  matched 2, reward 1, ctr ½
  const g = replay(LOG, new GreedyPolicy(), CANDS);
  assert.equal(g, { policy: 'greedy', steps: 5, matched: 2, reward: 1, ctr: 0.5 });
  // UCB1: 10 (unplayed) → match r=1; 20 (unplayed) → match r=1; 30 (unplayed) ≠ 10 → no;
  //   30 (still unplayed) → match r=1; all played with mean 1 and equal bonus → 10 ≠ 40 → no.
  //   matched 3, reward 3, ctr 1; regret vs greedy = (½ − 1)·3 = −1.5
  const u = replayWithRegret(LOG, new Ucb1Policy(), CANDS);
  assert.is(u.matched, 3);
  assert.is(u.reward, 3);
  assert.is(u.ctr, 1);
  close(u.regretVsGreedy, -1.5);
  assert.is(u.greedy.matched, 2);
  // an empty candidate list never matches
  assert.is(replay(LOG, new GreedyPolicy(), () => []).matched, 0);
});

test('logged events: time order, rewards from ratings, clear error without timestamps', () => {
  const x = fromTriplets([['u1', 'a', 5, 30], ['u2', 'b', 3, 10], ['u1', 'c', 4, 20]]);
  const order = replayOrder(x);
  assert.equal(Array.from(order), [1, 2, 0]);
  const ev = loggedEvents(x, order);
  assert.equal(Array.from(ev.reward), [0, 1, 1]); // 3 < 4, 4 ≥ 4, 5 ≥ 4
  assert.equal(Array.from(loggedEvents(x, order, { threshold: 5 }).reward), [0, 0, 1]);
  const noTime = fromTriplets([['u', 'a', 5], ['u', 'b', 1]]);
  assert.throws(() => replayOrder(noTime), /no timestamp column/);
  assert.equal(Array.from(replayOrder(noTime, 'input')), [0, 1]);
  const implicit = fromTriplets([['u', 'a'], ['u', 'b']], true);
  assert.equal(Array.from(loggedEvents(implicit, [0, 1]).reward), [1, 1]);
});

test('MMR increases intra-list diversity on a toy case', () => {
  // items 0, 1, 2 are near-duplicates (sim 0.99); item 3 is unlike everything (sim 0)
  const sim = (a: number, b: number): number => (a === b ? 1 : a <= 2 && b <= 2 ? 0.99 : 0);
  const ids = [0, 1, 2, 3], scores = [1, 0.95, 0.9, 0.5];
  const plain = mmrRerank(ids, scores, 2, sim, { lambda: 1 });
  assert.equal(Array.from(plain.ids), [0, 1]); // λ = 1: the score order
  // λ = ½ with scores min-max scaled to (1, 0.9, 0.8, 0): after 0, item 1 gets ½·0.9 − ½·0.99 = −0.045,
  // item 2 gets ½·0.8 − ½·0.99 = −0.095, item 3 gets ½·0 − 0 = 0 → item 3
  const diverse = mmrRerank(ids, scores, 2, sim, { lambda: 0.5 });
  assert.equal(Array.from(diverse.ids), [0, 3]);
  close(intraListDiversity(plain.ids, sim), 0.01, 1e-12);
  close(intraListDiversity(diverse.ids, sim), 1);
  assert.ok(intraListDiversity(diverse.ids, sim) > intraListDiversity(plain.ids, sim));
  assert.equal(Array.from(diverse.scores).map((s) => Math.round(s * 100) / 100), [1, 0.5]); // original scores kept
  assert.throws(() => mmrRerank(ids, scores, 0, sim), /k must be a positive integer/);
  assert.throws(() => mmrRerank(ids, scores, 2, sim, { lambda: 2 }), /lambda must be in/);
});

test('affinity replay CLI: JSON shape, reproducible, clear errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'affinity-replay-'));
  try {
    // a synthetic log: 30 users over 8 items, timestamps increasing; items 0-1 are liked (rating 5)
    const rng = new Rng(5);
    let csv = 'user,item,rating,timestamp\n';
    let t = 0;
    const seen = new Set<string>();
    for (let n = 0; n < 400; n++) {
      const u = rng.int(30), i = rng.int(8);
      if (seen.has(`${u},${i}`)) continue;
      seen.add(`${u},${i}`);
      csv += `${u},${i},${i < 2 ? 5 : 2},${t++}\n`;
    }
    const file = join(dir, 'log.csv');
    writeFileSync(file, csv);
    const main = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
    const run = (...args: string[]) => spawnSync(process.execPath, [main, 'replay', '--input', file, ...args], { encoding: 'utf8' });
    const a = run('--policy', 'thompson', '--seed', '3', '--pool', 'popular', '--candidates', '8', '--json');
    assert.is(a.status, 0, a.stderr);
    const ja = JSON.parse(a.stdout);
    assert.equal(Object.keys(ja), ['policy', 'steps', 'matched', 'matchRate', 'reward', 'ctr', 'ctrStdError', 'regretVsGreedy']);
    assert.is(ja.policy, 'thompson');
    assert.ok(ja.steps > 0 && ja.matched > 0 && ja.matched <= ja.steps);
    close(ja.ctr, ja.reward / ja.matched);
    close(ja.matchRate, ja.matched / ja.steps);
    close(ja.ctrStdError, Math.sqrt(ja.ctr * (1 - ja.ctr) / ja.matched));
    // a couple of hundred logged events match far fewer than 200 times: the CTR comes with a warning
    assert.ok(ja.matched < 200);
    assert.match(a.stderr, new RegExp(`affinity: warning: only ${ja.matched} of ${ja.steps} logged events \\(.*%\\) matched the policy's pick; a CTR from fewer than 200 matched events is not to be trusted \\(± `));
    const quiet = run('--policy', 'thompson', '--seed', '3', '--pool', 'popular', '--candidates', '8', '--min-matched', String(ja.matched));
    assert.is(quiet.status, 0);
    assert.not.match(quiet.stderr, /warning/, 'enough matches for --min-matched: no warning');
    assert.match(quiet.stdout, new RegExp(`matched ${ja.matched} of ${ja.steps} events \\(`));
    const b = run('--policy', 'thompson', '--seed', '3', '--pool', 'popular', '--candidates', '8', '--json');
    assert.is(b.stdout, a.stdout);
    const lin = run('--policy', 'linucb', '--model', 'feature-mf', '--model-params', 'factors=4,epochs=2', '--json');
    assert.is(lin.status, 0, lin.stderr);
    const bad = run('--policy', 'linucb', '--json');
    assert.is(bad.status, 1);
    assert.match(bad.stderr, /linucb needs item factors/);
    const noTs = join(dir, 'nots.csv');
    writeFileSync(noTs, 'user,item,rating\n1,2,5\n1,3,4\n2,2,1\n');
    const c = spawnSync(process.execPath, [main, 'replay', '--input', noTs, '--policy', 'greedy'], { encoding: 'utf8' });
    assert.is(c.status, 1);
    assert.match(c.stderr, /no timestamp column/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
