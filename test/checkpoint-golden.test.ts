// The golden checkpoints (official Hugging Face format) load completely and exactly, from disk and after being
// re-encoded as BF16, F16 or shards.
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, memoryFiles, weightF32, type Checkpoint } from '../engine/checkpoint/load.ts';
import { folderFiles } from '../engine/checkpoint/folder.node.ts';
import { expectedTensors } from '../engine/config.ts';
import { bf16Round, encode, plainF32Tensors, readGolden, shardedFolder, specShapes, type PlainTensor } from './fixtures/checkpoints.ts';
import { goldenDir, goldenNames } from './paths.ts';

// From each model's README.json (dims.n_params), written here so the test does not trust the file it checks.
const PARAMS: Record<(typeof goldenNames)[number], number> = { pub_a_m8_d64: 424240, pub_b_m0_d32: 127872, pub_c_m16_d48: 364234 };

const numel = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Each reference tensor is loaded bit for bit as its values rounded by `round`. */
function expectValues(ckpt: Checkpoint, reference: PlainTensor[], round: (x: number) => number): void {
  for (const t of reference) {
    const w = ckpt.weights.get(t.name)!;
    expect(w.shape, t.name).toEqual(t.shape);
    const got = weightF32(w);
    const want = Float32Array.from(t.data, round);
    // Compare bit patterns: exact, and −0 ≠ +0.
    expect(new Uint32Array(got.buffer, got.byteOffset, got.length), t.name).toEqual(new Uint32Array(want.buffer));
  }
}

describe.each(goldenNames)('golden model %s', (name) => {
  const golden = readGolden(name);
  const reference = plainF32Tensors(golden.modelBytes);

  it('loads from its folder: every tensor of spec §3.2 with its shape, no lm_head (tied), exact values', async () => {
    const ckpt = await loadCheckpoint(folderFiles(goldenDir(name)));
    const spec = specShapes(golden.readme);
    expect([...ckpt.weights.keys()].sort()).toEqual([...spec.keys()].sort());
    for (const [tensor, shape] of spec) expect(ckpt.weights.get(tensor)!.shape, tensor).toEqual(shape);
    expect(ckpt.weights.has('lm_head.weight')).toBe(false);
    expect(ckpt.config.tieWordEmbeddings).toBe(true);
    expect([...ckpt.weights.values()].reduce((n, w) => n + numel(w.shape), 0)).toBe(PARAMS[name]);
    expect(golden.readme.dims.n_params).toBe(PARAMS[name]);
    // The config's own expectation agrees with the spec.
    expect(new Map(expectedTensors(ckpt.config))).toEqual(spec);
    expectValues(ckpt, reference, (x) => x);
  });

  it('reports progress up to the total number of weight bytes', async () => {
    const seen: Array<[number, number]> = [];
    await loadCheckpoint(folderFiles(goldenDir(name)), { onProgress: (loaded, total) => seen.push([loaded, total]) });
    const total = 4 * PARAMS[name];
    expect(seen.length).toBe(reference.length);
    expect(seen.at(-1)).toEqual([total, total]);
    expect(seen.every(([loaded], i) => i === 0 || loaded > seen[i - 1][0])).toBe(true);
  });

  it('loads re-encoded as BF16 with every value rounded to nearest-even bf16', async () => {
    const ckpt = await loadCheckpoint(
      memoryFiles(name, { 'config.json': golden.configText, 'model.safetensors': encode(reference, 'BF16') }),
    );
    expect(ckpt.weights.size).toBe(reference.length);
    expect(new Set([...ckpt.weights.values()].map((w) => w.dtype))).toEqual(new Set(['BF16']));
    expectValues(ckpt, reference, bf16Round);
  });

  it('loads re-encoded as F16 with every value rounded to nearest-even half (Math.f16round)', async () => {
    const ckpt = await loadCheckpoint(
      memoryFiles(name, { 'config.json': golden.configText, 'model.safetensors': encode(reference, 'F16') }),
    );
    expect(ckpt.weights.size).toBe(reference.length);
    expect(new Set([...ckpt.weights.values()].map((w) => w.dtype))).toEqual(new Set(['F16']));
    // Golden weights include values below the f16 normal range, so subnormal rounding is exercised too.
    expect(reference.some((t) => t.data.some((x) => x !== 0 && Math.abs(x) < 2 ** -14))).toBe(true);
    expectValues(ckpt, reference, Math.f16round);
  });

  it.each([2, 3])('loads split into %i shards with model.safetensors.index.json', async (count) => {
    const folder = { 'config.json': golden.configText, ...shardedFolder(reference, count) };
    expect(Object.keys(folder).filter((f) => f.endsWith('.safetensors'))).toHaveLength(count);
    const ckpt = await loadCheckpoint(memoryFiles(name, folder));
    expect(ckpt.weights.size).toBe(reference.length);
    expectValues(ckpt, reference, (x) => x);
  });

  it('loads shards of mixed dtypes (BF16 and F32)', async () => {
    const half = Math.ceil(reference.length / 2);
    const bf16 = shardedFolder(reference.slice(0, half), 1, 'BF16');
    const f32 = encode(reference.slice(half));
    const index = JSON.parse(bf16['model.safetensors.index.json'] as string) as { weight_map: Record<string, string> };
    for (const t of reference.slice(half)) index.weight_map[t.name] = 'model-f32.safetensors';
    const ckpt = await loadCheckpoint(
      memoryFiles(name, {
        'config.json': golden.configText,
        'model-00001-of-00001.safetensors': bf16['model-00001-of-00001.safetensors'],
        'model-f32.safetensors': f32,
        'model.safetensors.index.json': JSON.stringify(index),
      }),
    );
    expect(ckpt.weights.size).toBe(reference.length);
    expectValues(ckpt, reference.slice(0, half), bf16Round);
    expectValues(ckpt, reference.slice(half), (x) => x);
  });
});
