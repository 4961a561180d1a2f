// Node only: load a Tokenizer from a model folder or a tokenizer.json file on disk.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { TokenizerFileError } from './errors.ts';
import { Tokenizer } from './tokenizer.ts';

/**
 * `location` is a model folder holding tokenizer.json, or the tokenizer.json file itself. tokenizer_config.json
 * beside it is read when present (it names the BOS/EOS tokens); without it the Llama defaults `<s>`/`</s>` apply.
 */
export async function loadTokenizer(location: string): Promise<Tokenizer> {
  const info = await stat(location).catch(() => {
    throw new TokenizerFileError(location, 'no such file or folder (expected a model folder or its tokenizer.json)');
  });
  const tokenizerPath = info.isDirectory() ? path.join(location, 'tokenizer.json') : location;
  const tokenizerText = await readFile(tokenizerPath, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new TokenizerFileError(
      tokenizerPath,
      e.code === 'ENOENT' ? 'not found (the folder has no tokenizer.json)' : `cannot be read (${e.message})`,
    );
  });
  const configPath = path.join(path.dirname(tokenizerPath), 'tokenizer_config.json');
  const configText = await readFile(configPath, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw new TokenizerFileError(configPath, `cannot be read (${e.message})`);
  });
  return Tokenizer.fromJson(tokenizerText, configText);
}
