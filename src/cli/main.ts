#!/usr/bin/env node
/**
 * The `affinity` CLI. Every command accepts `--backend NAME|auto`; one Engine, built at this
 * edge when the command starts (edge.ts), runs all of its kernels and is closed at exit. A bad
 * argument or a failure prints one line `affinity: <message>` and exits non-zero — the argument
 * parser's own errors included, and never with the prefix twice.
 */
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { commands } from './commands/index.js';
import { CliEdge } from './edge.js';

const pkg = createRequire(import.meta.url)('../../../package.json') as { version: string };

async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program
    .name('affinity')
    .description('recommender-system compute engine: similarity, neighbourhood models, matrix factorization, top-k, metrics')
    .version(pkg.version)
    .option('--backend <name>', "backend to run heavy kernels on: 'auto' or a name from `affinity info`")
    .exitOverride()
    // the argument parser's own errors ('error: unknown option …') get the one prefix too
    .configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: (s, write) => write(s.replace(/^error: /, 'affinity: ')) })
    .showHelpAfterError(false);
  const edge = new CliEdge();
  program.hook('preAction', (_program, cmd) => {
    edge.start(cmd.optsWithGlobals().backend as string | undefined);
  });
  for (const register of commands) register(program, edge);
  for (const c of program.commands) c.exitOverride().option('--backend <name>', "backend: 'auto' or a name from `affinity info`");
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version exit with code 0; commander already printed its message
      return e.exitCode === 0 ? 0 : 1;
    }
    const msg = e instanceof Error ? e.message : String(e);
    // one prefix: messages made for library users may already carry it
    process.stderr.write(`affinity: ${msg.split('\n')[0].replace(/^(affinity: )+/, '')}\n`);
    if (process.env.AFFINITY_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return 1;
  } finally {
    await edge.close();
  }
}

// `npx affinity -- --version`: npx passes its `--` on; before any command it means nothing here
const argv = process.argv.slice(2);
const code = await main(argv[0] === '--' ? argv.slice(1) : argv);
process.exitCode = code;
