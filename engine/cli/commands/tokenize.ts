// `npm run hymba -- tokenize --tokenizer PATH (--text "…" | --in FILE.jsonl [--out FILE.jsonl])`
// Token ids of text with Hymba's tokenizer, `<s>` included as the post-processor adds it. PATH is a model folder
// holding tokenizer.json, or that file itself. JSONL in: one JSON string per line; out: one JSON id array per line.
import { readFile } from 'node:fs/promises';
import { UsageError, type Args, type Command } from '../args.ts';
import { loadTokenizer } from '../../tokenizer/load.node.ts';
import { TokenizerFileError, TokenizerInputError, type Tokenizer } from '../../tokenizer/index.ts';
import { decodeUtf8, refuseInputAsOutput, writeFileAtomic } from '../files.ts';

/** The JSONL output for a JSONL input: line i of the result holds the ids of the string on line i. */
export function tokenizeJsonl(tokenizer: Tokenizer, jsonl: string, fileName: string): string {
  const lines = jsonl.split('\n');
  if (lines.at(-1) === '') lines.pop(); // the newline that ends the last line
  return lines
    .map((line, i) => {
      const where = `${fileName}:${i + 1}`;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new TokenizerInputError(
          `${where}: not valid JSON; each line must be one JSON string, e.g. "Hello world" (got ${JSON.stringify(line.slice(0, 60))})`,
        );
      }
      if (typeof value !== 'string')
        throw new TokenizerInputError(
          `${where}: expected a JSON string, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`,
        );
      return JSON.stringify(tokenizer.encode(value)) + '\n';
    })
    .join('');
}

const command: Command = {
  usage:
    'usage: npm run hymba -- tokenize --tokenizer PATH (--text "…" | --in FILE.jsonl [--out FILE.jsonl])\n' +
    '  PATH: a model folder with tokenizer.json (and tokenizer_config.json), or the tokenizer.json file\n' +
    '  --text: print the ids of one string; --in: one JSON string per line → one JSON id array per line (to --out or stdout)',
  flags: { tokenizer: 'string', text: 'string', in: 'string', out: 'string' },
  async run(args: Args) {
    const tokenizerPath = args.required('tokenizer');
    const text = args.string('text');
    const input = args.string('in');
    if ((text === undefined) === (input === undefined)) throw new UsageError('give exactly one of --text or --in');
    if (text !== undefined && args.has('out')) throw new UsageError('--out goes with --in, not --text');
    if (args.positional.length > 0) throw new UsageError(`unexpected argument "${args.positional[0]}"`);

    const tokenizer = await loadTokenizer(tokenizerPath);
    if (text !== undefined) {
      console.log(JSON.stringify(tokenizer.encode(text)));
      return 0;
    }
    const out = args.string('out');
    if (out !== undefined) refuseInputAsOutput('out', out, [input!, tokenizerPath, `${tokenizerPath}/tokenizer.json`]);
    const bytes = await readFile(input!).catch((e: NodeJS.ErrnoException) => {
      throw new TokenizerFileError(input!, e.code === 'ENOENT' ? 'no such input file' : `cannot be read (${e.message})`);
    });
    const jsonl = decodeUtf8('in', input!, bytes);
    const output = tokenizeJsonl(tokenizer, jsonl.replaceAll('\r\n', '\n'), input!);
    if (out === undefined) process.stdout.write(output);
    else {
      try {
        writeFileAtomic(out, output);
      } catch (e) {
        throw new TokenizerFileError(out, `cannot be written (${(e as Error).message})`);
      }
    }
    return 0;
  },
};
export default command;
