/**
 * Offline replay evaluation of a bandit policy (Li, Chu, Langford & Wang 2011, "Unbiased offline
 * evaluation of contextual-bandit-based news article recommendation algorithms").
 *
 * Walk a logged interaction stream in time order. At each logged event (user u, item i, reward r):
 * the policy picks one item from u's candidate list; if it picked i, the event is MATCHED: it
 * counts, r is added to the policy's reward and the policy is updated with (i, r). Otherwise the
 * event is skipped (the log says nothing about what the user would have done with the other item)
 * and the policy learns nothing. An event whose item is not among the candidates can never match.
 *
 *   steps   = events replayed        matched = matched events       reward = Σ r over matched events
 *   ctr     = reward / matched (0 when nothing matched)
 *   regretVsGreedy = (ctr_greedy − ctr_policy) · matched_policy
 *     the reward the policy lost, on its own matched events, against the greedy policy replayed on
 *     the same stream and candidates; negative when the policy did better than greedy.
 *
 * Reward of a logged interaction: 1 for implicit data; for explicit data 1 when rating ≥ threshold
 * (default 4), else 0. The estimate is unbiased when the logging policy chose uniformly from the
 * candidates; with organic logs (MovieLens) it is a consistent-ordering comparison, not a CTR.
 */
import type { Interactions } from '../data/interactions.js';
import { GreedyPolicy, type BanditPolicy } from './bandits.js';

export interface LoggedEvents {
  user: Int32Array;
  item: Int32Array;
  reward: Float64Array;
}

export interface EventOptions {
  /** explicit data: reward 1 when rating ≥ threshold (default 4) */
  threshold?: number;
  /** 'time' (default): by timestamp, stable for ties; 'input': file order */
  order?: 'time' | 'input';
}

/** Positions of x in replay order (time, stable), or a RangeError when there are no timestamps. */
export function replayOrder(x: Interactions, order: 'time' | 'input' = 'time'): Int32Array {
  const n = x.user.length;
  const pos = new Int32Array(n);
  for (let p = 0; p < n; p++) pos[p] = p;
  if (order === 'input') return pos;
  if (order !== 'time') throw new RangeError(`order must be 'time' or 'input', got '${String(order)}'`);
  const t = x.timestamp;
  if (!t) throw new RangeError("replay orders events by timestamp, but the input has no timestamp column (use order 'input' / --order input to replay in file order)");
  return pos.sort((a, b) => t[a] - t[b] || a - b);
}

/** The logged events of x at `positions` (in that order) with their rewards. */
export function loggedEvents(x: Interactions, positions: ArrayLike<number>, o: EventOptions = {}): LoggedEvents {
  const threshold = o.threshold ?? 4;
  if (!Number.isFinite(threshold)) throw new RangeError(`threshold must be a number, got ${threshold}`);
  const n = positions.length;
  const ev: LoggedEvents = { user: new Int32Array(n), item: new Int32Array(n), reward: new Float64Array(n) };
  for (let k = 0; k < n; k++) {
    const p = positions[k];
    ev.user[k] = x.user[p];
    ev.item[k] = x.item[p];
    ev.reward[k] = x.implicit ? 1 : x.rating[p] >= threshold ? 1 : 0;
  }
  return ev;
}

export interface ReplayResult {
  policy: string;
  steps: number;
  matched: number;
  reward: number;
  ctr: number;
}

export type CandidateSource = (user: number, step: number) => ArrayLike<number>;

/** Replay one policy over the events (see the module comment). */
export function replay(events: LoggedEvents, policy: BanditPolicy, candidates: CandidateSource): ReplayResult {
  const n = events.user.length;
  let matched = 0, reward = 0;
  for (let s = 0; s < n; s++) {
    const c = candidates(events.user[s], s);
    if (c.length === 0) continue;
    const pick = policy.select(c);
    if (pick !== events.item[s]) continue;
    matched++;
    reward += events.reward[s];
    policy.update(pick, events.reward[s]);
  }
  return { policy: policy.name, steps: n, matched, reward, ctr: matched > 0 ? reward / matched : 0 };
}

export interface ReplayReport extends ReplayResult {
  regretVsGreedy: number;
  greedy: ReplayResult;
}

/** Replay `policy` and a fresh greedy policy on the same events and candidates; adds regretVsGreedy. */
export function replayWithRegret(events: LoggedEvents, policy: BanditPolicy, candidates: CandidateSource): ReplayReport {
  const r = replay(events, policy, candidates);
  const g = policy.name === 'greedy' && policy instanceof GreedyPolicy ? r : replay(events, new GreedyPolicy(), candidates);
  return { ...r, regretVsGreedy: (g.ctr - r.ctr) * r.matched, greedy: g };
}
