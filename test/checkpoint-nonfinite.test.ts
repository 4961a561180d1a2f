// A checkpoint with NaN or ±Inf weights, in the official format (a golden model folder with a few values of one
// tensor replaced), is refused at load on both backends and by the CLI, naming the tensor and how many values.
// Without the check, both backends compute with it and give plausible-looking token ids.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { folderFiles } from '../engine/checkpoint/folder.node.ts';
import { loadCheckpoint, NonFiniteWeightsError } from '../engine/checkpoint/load.ts';
import { headerLength, parseHeader } from '../engine/checkpoint/safetensors.ts';
import { streamCheckpoint } from '../engine/checkpoint/stream.ts';
import { loadEngine } from '../engine/node.ts';
import { goldenDir, repoRoot } from './paths.ts';

const golden = goldenDir('pub_b_m0_d32');
const TENSOR = 'model.layers.3.mamba.in_proj.weight';

/** A copy of the golden model whose TENSOR has `values` written at flat indices 5, 17 and 40. */
function poisoned(values: number[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hymba-nonfinite-'));
  copyFileSync(path.join(golden, 'config.json'), path.join(dir, 'config.json'));
  const file = new Uint8Array(readFileSync(path.join(golden, 'model.safetensors')));
  const header = parseHeader('model', file.subarray(8, 8 + headerLength('model', file.subarray(0, 8), file.length)), file.length);
  const entry = header.tensors.get(TENSOR)!;
  expect(entry.dtype).toBe('F32');
  const view = new DataView(file.buffer, entry.begin);
  [5, 17, 40].forEach((at, i) => view.setFloat32(4 * at, values[i % values.length], true));
  writeFileSync(path.join(dir, 'model.safetensors'), file);
  return dir;
}

const nan = poisoned([NaN]);
const inf = poisoned([Infinity, -Infinity, NaN]);

async function rejection(p: Promise<unknown>): Promise<NonFiniteWeightsError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(NonFiniteWeightsError);
  return e as NonFiniteWeightsError;
}

describe('non-finite weights', () => {
  it('loadCheckpoint names the file, the tensor and the count', async () => {
    const e = await rejection(loadCheckpoint(folderFiles(nan)));
    expect(e.tensor).toBe(TENSOR);
    expect(e.count).toBe(3);
    expect(e.message).toContain(path.join(nan, 'model.safetensors'));
    expect(e.message).toMatch(/3 of \d+ values are not finite \(NaN or ±Inf; the first at flat index 5\)/);
    expect((await rejection(loadCheckpoint(folderFiles(inf)))).count).toBe(3);
  });

  it('the streaming loader (the full-size path) refuses the tensor before handing it on', async () => {
    const seen: string[] = [];
    await rejection(streamCheckpoint(folderFiles(inf), (w) => void seen.push(w.name)));
    expect(seen).not.toContain(TENSOR);
  });

  it.each(['cpu', 'webgpu'] as const)('loadEngine --backend %s refuses it', async (backend) => {
    const e = await rejection(loadEngine(nan, { backend }));
    expect(e.tensor).toBe(TENSOR);
  });

  it.each(['cpu', 'webgpu'])('the CLI (forward and generate, --backend %s) exits 1 with the message and writes nothing', (backend) => {
    const out = path.join(nan, `out-${backend}.safetensors`);
    for (const command of [
      ['forward', '--ids', '1,5,9'],
      ['generate', '--ids', '1,5,9', '--max-new-tokens', '2'],
    ]) {
      const r = spawnSync(
        process.execPath,
        ['--no-warnings', 'engine/cli/main.ts', ...command, '--model', nan, '--out', out, '--backend', backend],
        { cwd: repoRoot, encoding: 'utf8' },
      );
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`NonFiniteWeightsError: ${path.join(nan, 'model.safetensors')} (tensor "${TENSOR}"): 3 of`);
      expect(() => readFileSync(out)).toThrow();
    }
  });
});
