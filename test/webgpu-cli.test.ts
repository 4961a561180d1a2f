// The forward and predict commands on a golden model, on both backends, as a user runs them.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { headerLength, parseHeader, toFloat32 } from '../engine/checkpoint/safetensors.ts';
import { maxAbsDiff } from '../engine/tensor.ts';
import { goldenDir, repoRoot } from './paths.ts';
import { readExpected } from './webgpu-helpers.ts';

const run = promisify(execFile);
const cli = (...args: string[]) => run('npx', ['node', 'engine/cli/main.ts', ...args], { cwd: repoRoot });
const model = goldenDir('pub_b_m0_d32');

function readOut(file: string): (name: string) => { shape: number[]; data: Float32Array } {
  const buf = new Uint8Array(readFileSync(file));
  const h = parseHeader(file, buf.subarray(8, 8 + headerLength(file, buf.subarray(0, 8), buf.length)), buf.length);
  return (name) => {
    const e = h.tensors.get(name)!;
    return { shape: e.shape, data: toFloat32(e, buf.subarray(e.begin, e.end)) };
  };
}

describe('hymba forward / predict', () => {
  it.each(['webgpu', 'cpu'])('forward --backend %s writes the golden logits and hidden states', async (backend) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hymba-forward-'));
    const expected = readExpected(model);
    const ids = Array.from(expected('input_ids'));
    const out = path.join(dir, 'out.safetensors');
    await cli('forward', '--model', model, '--ids', ids.join(','), '--out', out, '--backend', backend);
    const got = readOut(out);
    expect(got('logits').shape).toEqual([ids.length, 64]);
    expect(maxAbsDiff(got('logits').data, expected('logits'))).toBeLessThan(1e-4);
    for (let k = 0; k <= 8; k++) expect(maxAbsDiff(got(`hidden_states_${k}`).data, expected(`hidden_states_${k}`))).toBeLessThan(1e-4);
  });

  it('predict gives the argmax per position, the same on both backends, equal to the golden logits argmax', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hymba-predict-'));
    const expected = readExpected(model);
    const ids = Array.from(expected('input_ids'));
    const input = path.join(dir, 'in.jsonl');
    writeFileSync(input, `${JSON.stringify(ids)}\n${JSON.stringify(ids.slice(0, 3))}\n`);
    const outs: string[] = [];
    for (const backend of ['webgpu', 'cpu']) {
      const out = path.join(dir, `${backend}.jsonl`);
      await cli('predict', '--model', model, '--in', input, '--out', out, '--backend', backend);
      outs.push(readFileSync(out, 'utf8'));
    }
    expect(outs[0]).toBe(outs[1]);
    const lines = outs[0]
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as number[]);
    const logits = expected('logits');
    const argmax = ids.map((_, j) => {
      const row = logits.subarray(j * 64, (j + 1) * 64);
      return row.indexOf(Math.max(...row));
    });
    expect(lines[0]).toEqual(argmax);
    expect(lines[1]).toEqual(argmax.slice(0, 3)); // causal: a prefix predicts the same
  });

  it('bad input exits non-zero with a typed message', async () => {
    await expect(cli('forward', '--model', model, '--ids', '1,999', '--out', '/tmp/x.safetensors')).rejects.toThrow(
      /InputError: token id 999/,
    );
    await expect(cli('forward', '--model', model, '--ids', '1', '--out', '/tmp/x.safetensors', '--backend', 'tpu')).rejects.toThrow(
      /--backend must be one of webgpu, cpu/,
    );
  });
});
