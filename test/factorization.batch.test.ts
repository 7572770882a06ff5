import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { factorizationModels } from '../src/models/factorization/index.js';
import { generateInteractions } from '../src/data/synthetic.js';
import type { Model } from '../src/models/types.js';

const data = generateInteractions({ users: 120, items: 80, interactions: 2400, seed: 5, explicit: true });

async function fitted(name: string, params: Record<string, number>): Promise<Model> {
  const m = factorizationModels[name](params);
  await m.fit(data);
  return m;
}

for (const [name, params] of [['als', { factors: 8, iterations: 3 }], ['svd', { n_factors: 8, n_epochs: 3 }], ['bpr', { factors: 8, iterations: 3 }]] as const) {
  test(`${name}: recommendBatch and similarItemsBatch equal the per-user / per-item calls (js backend: exact)`, async () => {
    {
      const m = await fitted(name, params as Record<string, number>);
      const users = Int32Array.from({ length: 120 }, (_, i) => i);
      const batch = await m.recommendBatch!(users, 10, { filterSeen: true, backend: 'js' });
      for (const u of users) {
        const one = m.recommend(u, 10, { filterSeen: true });
        assert.equal([...batch[u].ids], [...one.ids], `user ${u}`);
        assert.equal([...batch[u].scores], [...one.scores], `user ${u} scores`);
      }
      const items = Int32Array.from({ length: 80 }, (_, i) => i);
      const sim = await m.similarItemsBatch!(items, 5, { backend: 'js' });
      for (const i of items) {
        const one = m.similarItems!(i, 5);
        assert.equal([...sim[i].ids], [...one.ids], `item ${i}`);
      }
    }
  });
}

test('recommendBatch on the automatic backend agrees with recommend within float32 tolerance', async () => {
  const m = await fitted('als', { factors: 16, iterations: 3 });
  const users = Int32Array.from({ length: 120 }, (_, i) => i);
  const batch = await m.recommendBatch!(users, 10);
  for (const u of users) {
    const one = m.recommend(u, 10);
    assert.is(batch[u].scores.length, one.scores.length);
    for (let j = 0; j < one.scores.length; j++) {
      assert.ok(Math.abs(batch[u].scores[j] - one.scores[j]) <= 1e-4 * Math.max(1, Math.abs(one.scores[j])), `user ${u} rank ${j}`);
    }
  }
});

test.run();
