import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as affinity from '../src/index.js';

test('the package entry exposes the layers a service needs', () => {
  for (const name of ['readInteractions', 'kFold', 'generateInteractions', 'IdMap', 'getEngine', 'probeAll', 'allModels', 'evaluate', 'precompute', 'precomputeToFile', 'ALS', 'SVD', 'BaselineOnly', 'Popularity']) {
    assert.ok(name in affinity, `export ${name}`);
  }
  for (const m of ['baseline', 'knn-basic', 'knn-baseline', 'slope-one', 'co-clustering', 'item-knn', 'user-knn', 'random', 'svd', 'svdpp', 'nmf', 'als', 'als-explicit', 'bpr', 'popularity', 'content-knn', 'hybrid', 'feature-mf']) {
    assert.type(affinity.allModels[m], 'function', `model ${m}`);
  }
});

test('read → fit → recommend with external ids, end to end', async () => {
  const text = ['user,item,rating', 'ann,apple,5', 'ann,pear,4', 'bob,apple,5', 'bob,plum,2', 'cid,pear,5', 'cid,plum,4', 'dan,apple,4', 'dan,fig,5'].join('\n');
  const data = affinity.readInteractionsFromString(text, { name: 'inline.csv' });
  const model = affinity.allModels['item-knn']({ k: 10 });
  await model.fit(data);
  const ann = data.users.require('ann', 'user');
  const recs = model.recommend(ann, 3);
  const ids = [...recs.ids].map((i) => data.items.external(i));
  assert.not.ok(ids.includes('apple'), 'seen items are filtered');
  assert.not.ok(ids.includes('pear'));
  assert.ok(ids.length > 0);
  assert.ok(ids.every((id) => ['plum', 'fig'].includes(String(id))));
  await affinity.closeEngine();
});

test.run();
