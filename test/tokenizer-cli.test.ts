// The Node tokenizer loader and `npm run hymba -- tokenize`, end to end on temp files.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from '../engine/tokenizer/load.node.ts';
import { TokenizerFileError } from '../engine/tokenizer/index.ts';
import { repoRoot, sharedDir } from './paths.ts';

const modelDir = path.join(sharedDir, 'hymba-1.5b');
const golden = JSON.parse(readFileSync(path.join(modelDir, 'tokenizer-golden.json'), 'utf8')) as {
  cases: { text: string; ids: number[] }[];
};
const work = mkdtempSync(path.join(tmpdir(), 'hymba-tokenize-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Run the CLI as a user would (the test worker already runs the pinned Node 24). */
function hymba(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--no-warnings', 'engine/cli/main.ts', ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('loadTokenizer', () => {
  it('loads from the model folder or from tokenizer.json itself', async () => {
    expect((await loadTokenizer(modelDir)).encode('Hello world')).toEqual([1, 15043, 3186]);
    expect((await loadTokenizer(path.join(modelDir, 'tokenizer.json'))).encode('Hi</s>')).toEqual([1, 6324, 2]);
  });

  it('works without tokenizer_config.json (Llama defaults for BOS/EOS)', async () => {
    const alone = mkdtempSync(path.join(work, 'alone-'));
    copyFileSync(path.join(modelDir, 'tokenizer.json'), path.join(alone, 'tokenizer.json'));
    const tok = await loadTokenizer(alone);
    expect([tok.bosId, tok.eosId]).toEqual([1, 2]);
  });

  it('says which file is missing', async () => {
    await expect(loadTokenizer(path.join(work, 'nope'))).rejects.toThrow(TokenizerFileError);
    await expect(loadTokenizer(work)).rejects.toThrow(/tokenizer\.json: not found/);
  });
});

describe('hymba tokenize', () => {
  it('tokenizes a JSONL file of every golden string to the official ids', () => {
    const input = path.join(work, 'golden.jsonl');
    const output = path.join(work, 'golden.ids.jsonl');
    writeFileSync(input, golden.cases.map((c) => JSON.stringify(c.text) + '\n').join(''));
    const r = hymba('tokenize', '--tokenizer', modelDir, '--in', input, '--out', output);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = readFileSync(output, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l))).toEqual(golden.cases.map((c) => c.ids));
  });

  it('prints the ids of --text, given tokenizer.json as the path', () => {
    const r = hymba('tokenize', '--tokenizer', path.join(modelDir, 'tokenizer.json'), '--text', 'Hello world');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('[1,15043,3186]\n');
  });

  it('names the line that is not a JSON string', () => {
    const input = path.join(work, 'bad.jsonl');
    writeFileSync(input, '"fine"\n"also fine"\n["not", "a string"]\n');
    const r = hymba('tokenize', '--tokenizer', modelDir, '--in', input, '--out', path.join(work, 'bad.out'));
    expect(r.status).toBe(2); // bad input, as for predict
    expect(r.stderr).toContain(`${input}:3: expected a JSON string, got an array`);

    writeFileSync(input, '"fine"\nHello\n');
    expect(hymba('tokenize', '--tokenizer', modelDir, '--in', input).stderr).toContain(`${input}:2: not valid JSON`);
  });

  it('reports missing files and wrong flags clearly', () => {
    const noInput = hymba('tokenize', '--tokenizer', modelDir, '--in', path.join(work, 'missing.jsonl'));
    expect(noInput.status).toBe(2);
    expect(noInput.stderr).toContain('missing.jsonl: no such input file');

    const noTokenizer = hymba('tokenize', '--tokenizer', path.join(work, 'no-model'), '--text', 'x');
    expect(noTokenizer.status).toBe(2);
    expect(noTokenizer.stderr).toContain('no-model: no such file or folder');

    const both = hymba('tokenize', '--tokenizer', modelDir, '--text', 'x', '--in', 'y.jsonl');
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('give exactly one of --text or --in');
  });
});
