/**
 * `affinity fit --input FILE --model NAME [--params k=v,…] --out model.affm [--items FILE] [--users FILE]`
 *
 * Fits any model and saves it (src/models/modelFile.ts, docs/model-format.md): factor models
 * their factors, the others what their deterministic fit reads. `affinity recommend`,
 * `affinity eval --model-file` and `affinity precompute --model-file` reuse the file.
 */
import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { readInteractions } from '../../data/readers.js';
import { attachSideInfo, takesSideInfo } from '../../models/attachSideInfo.js';
import { saveModel } from '../../models/modelFile.js';
import { allModels } from '../../models/registry.js';
import { checkOutputPath, parseParams, UsageError } from '../args.js';
import type { CliEdge } from '../edge.js';
import { addSideInfoOptions, readSideInfoOptions, type SideInfoCliOptions } from './eval.js';

interface FitCliOptions extends SideInfoCliOptions {
  input: string;
  model: string;
  params?: string;
  out: string;
  implicit?: boolean;
  quiet?: boolean;
}

export function register(program: Command, edge: CliEdge): void {
  const cmd = program
    .command('fit')
    .description('fit a model on an interaction file and save it (any model; reused by recommend, eval --model-file, precompute --model-file)')
    .requiredOption('--input <file>', 'interaction file (CSV/TSV/u.data/JSONL, optionally .gz)')
    .requiredOption('--model <name>', `model: ${Object.keys(allModels).sort().join('|')}`)
    .option('--params <k=v,...>', 'hyper-parameters, e.g. factors=64,epochs=15,seed=1')
    .requiredOption('--out <file>', 'the model file to write (written to a temporary name, renamed when complete)')
    .option('--implicit', 'the input has no rating column (every interaction has weight 1)')
    .option('--quiet', 'no progress on stderr');
  addSideInfoOptions(cmd);
  cmd.action(async (o: FitCliOptions) => {
    const factory = allModels[o.model];
    if (!factory) throw new UsageError(`unknown model '${o.model}' (known: ${Object.keys(allModels).sort().join(', ')})`);
    const params = parseParams(o.params);
    let model;
    try { model = factory(params); } catch (e) { throw new UsageError((e as Error).message); }
    const sideInfo = await readSideInfoOptions(o);
    if (sideInfo && !takesSideInfo(model)) throw new UsageError(`model '${o.model}' takes no side information; --items/--users apply to content-knn, hybrid and feature-mf`);
    if (sideInfo) attachSideInfo(model, sideInfo);
    checkOutputPath(o.out); // an --out that cannot be written fails now, not after the fit
    const say = o.quiet ? (_: string) => {} : (m: string) => { process.stderr.write(m); };
    const tty = process.stderr.isTTY === true && !o.quiet;
    say(`reading ${o.input}\n`);
    const data = await readInteractions(o.input, { implicit: o.implicit === true });
    const t0 = performance.now();
    await model.fit(data, {
      ...edge.context(),
      // one updating line on a terminal; nothing in logs
      onEpoch: tty ? (e, loss) => say(`\r${o.model} epoch ${e}: loss ${Number.isFinite(loss) ? loss.toPrecision(5) : loss}   `) : undefined,
    });
    if (tty) say('\n');
    const fitSeconds = (performance.now() - t0) / 1000;
    saveModel(model, o.out, { kind: o.model, params, train: data, sideInfo });
    say(`fitted ${o.model} on ${data.user.length} interactions (${data.users.size} users, ${data.items.size} items) in ${fitSeconds.toFixed(2)} s; saved ${o.out} (${(statSync(o.out).size / 2 ** 20).toFixed(2)} MiB)\n`);
  });
}
