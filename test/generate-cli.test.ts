// `npm run hymba -- generate` end to end on a golden model: the written gen_ids/gen_logits, and the error messages.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, afterAll } from 'vitest';
import { headerLength, parseHeader, toFloat32 } from '../engine/checkpoint/safetensors.ts';
import { maxAbsDiff } from '../engine/tensor.ts';
import { goldenDir, repoRoot } from './paths.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'hymba-generate-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function hymba(...args: string[]) {
  const r = spawnSync(process.execPath, ['--no-warnings', 'engine/cli/main.ts', ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function readTensors(file: string) {
  const bytes = new Uint8Array(readFileSync(file));
  const n = headerLength(file, bytes.subarray(0, 8), bytes.length);
  const header = parseHeader(file, bytes.subarray(8, 8 + n), bytes.length);
  const out = new Map<string, { dtype: string; shape: number[]; data: Float32Array }>();
  for (const [name, e] of header.tensors)
    out.set(name, { dtype: e.dtype, shape: e.shape, data: toFloat32(e, bytes.subarray(e.begin, e.end)) });
  return out;
}

const model = goldenDir('pub_b_m0_d32');
const expected = readTensors(path.join(model, 'expected.safetensors'));
const prompt = Array.from(expected.get('input_ids')!.data).join(',');

describe('hymba generate', () => {
  it.each([
    ['hf', 'gen_ids', 'gen_logits'],
    ['prefill', 'gen_ids_nocache', 'gen_logits_nocache'],
  ])('--window-rule %s writes the golden %s and %s', (rule, idsName, logitsName) => {
    const out = path.join(tmp, `${rule}.safetensors`);
    const r = hymba('generate', '--model', model, '--ids', prompt, '--max-new-tokens', '12', '--window-rule', rule, '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const got = readTensors(out);
    expect(got.get('gen_ids')!.dtype).toBe('I32');
    expect(got.get('gen_ids')!.shape).toEqual([12]);
    expect(got.get('gen_logits')!.shape).toEqual([12, 64]);
    expect(Array.from(got.get('gen_ids')!.data)).toEqual(Array.from(expected.get(idsName)!.data));
    expect(maxAbsDiff(got.get('gen_logits')!.data, expected.get(logitsName)!.data)).toBeLessThan(1e-4);
    expect(r.stdout).toContain(`gen_ids ${Array.from(expected.get(idsName)!.data).join(',')}`);
  });

  it('samples reproducibly for a seed', () => {
    const run = (seed: string) => {
      const out = path.join(tmp, `s${seed}.safetensors`);
      expect(
        hymba(
          'generate',
          '--model',
          model,
          '--ids',
          '1,5,9',
          '--max-new-tokens',
          '16',
          '--temperature',
          '1.5',
          '--top-k',
          '20',
          '--seed',
          seed,
          '--out',
          out,
        ).code,
      ).toBe(0);
      return Array.from(readTensors(out).get('gen_ids')!.data);
    };
    expect(run('4')).toEqual(run('4'));
    expect(run('4')).not.toEqual(run('5'));
  });

  it.each([
    ['no new tokens', ['--ids', '1,2', '--max-new-tokens', '0'], 2, /--max-new-tokens must be ≥ 1/],
    [
      'an id outside the vocabulary',
      ['--ids', '1,99', '--max-new-tokens', '3'],
      2,
      /token id 99 at position 1 is outside the vocabulary 0\.\.63/,
    ],
    ['ids that are not integers', ['--ids', '1,x', '--max-new-tokens', '3'], 2, /--ids expects comma-separated integers/],
    ['a prompt longer than the positions', ['--ids', Array(8193).fill(1).join(','), '--max-new-tokens', '1'], 2, /takes at most 8192/],
    [
      'prompt + new tokens beyond the positions',
      ['--ids', '1,2', '--max-new-tokens', '8192'],
      2,
      /needs 8193 positions; this model has 8192/,
    ],
    [
      'an unknown window rule',
      ['--ids', '1,2', '--max-new-tokens', '2', '--window-rule', 'flex'],
      2,
      /--window-rule must be one of hf, prefill/,
    ],
    ['top-k without a temperature', ['--ids', '1,2', '--max-new-tokens', '2', '--top-k', '3'], 2, /give --temperature > 0/],
  ] as Array<[string, string[], number, RegExp]>)('refuses %s clearly', (_label, flags, code, message) => {
    const r = hymba('generate', '--model', model, '--out', path.join(tmp, 'x.safetensors'), ...flags);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
  });

  it('refuses a missing model folder', () => {
    const r = hymba(
      'generate',
      '--model',
      path.join(tmp, 'no-such-model'),
      '--ids',
      '1',
      '--max-new-tokens',
      '2',
      '--out',
      path.join(tmp, 'y.safetensors'),
    );
    expect(r.code).toBe(2); // bad usage: the folder named on the command line does not exist
    expect(r.stderr).toMatch(/ModelFolderError: --model .*no-such-model: no such folder/);
  });
});
