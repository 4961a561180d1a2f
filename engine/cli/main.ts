// `npm run hymba -- <command> [flags]`: the engine's command line (Node only).
// Each command lives in its own file under commands/ and is listed here.
import { parseArgs, UsageError, type Command } from './args.ts';

const commands: Record<string, () => Promise<{ default: Command }>> = {
  // Filled in as commands land; each file default-exports a Command.
  info: () => import('./commands/info.ts'),
  cache: () => import('./commands/cache.ts'),
  tokenize: () => import('./commands/tokenize.ts'),
  generate: () => import('./commands/generate.ts'),
  bench: () => import('./commands/bench.ts'),
  forward: () => import('./commands/forward.ts'),
  predict: () => import('./commands/predict.ts'),
  train: () => import('./commands/train.ts'),
  eval: () => import('./commands/eval.ts'),
  claims: () => import('./commands/claims.ts'),
};

/**
 * Errors about what the user typed or pointed at: a name that does not exist (preset, task, file, folder), a value
 * out of range (token ids outside the vocabulary, a level the task cannot do), an input file that cannot be read as
 * such. Like a UsageError they exit 2, "fix the command line"; any other failure (a model that cannot be used, a
 * diverged run, a GPU error) exits 1. By name, so this file loads no command's code before it runs.
 */
const BAD_INPUT = new Set([
  'PresetError',
  'InputError',
  'TaskError',
  'ModelFolderError',
  'ModelSourceError',
  'TokenizerInputError',
  'TokenizerFileError',
]);

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === 'help') {
    const usage = `usage: npm run hymba -- <command> [flags]\ncommands: ${Object.keys(commands).sort().join(', ')}`;
    if (!name)
      console.error(usage); // bad usage: on stderr, exit 2
    else console.log(usage);
    return name ? 0 : 2;
  }
  const load = Object.hasOwn(commands, name) ? commands[name] : undefined; // "__proto__" is no command
  if (!load) {
    console.error(`hymba: unknown command "${name}" (commands: ${Object.keys(commands).sort().join(', ')})`);
    return 2;
  }
  const command = (await load()).default;
  try {
    const args = parseArgs(rest, command.flags);
    return (await command.run(args)) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`hymba ${name}: ${e.message}\n${command.usage}`);
      return 2;
    }
    const err = e as Error;
    console.error(`hymba ${name}: ${err.name && err.name !== 'Error' ? err.name + ': ' : ''}${err.message}`);
    if (process.env.HYMBA_DEBUG) console.error(err.stack);
    return BAD_INPUT.has(err.name) ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
