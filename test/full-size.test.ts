// Hymba-1.5B at full size on WebGPU, within a SwiftShader budget:
// - the full config's GPU weight set (planWeights: what createRandom/the constructor allocate): 611 tensors,
//   1,522,797,824 parameters, 16-bit matrices packed, nothing over the binding limit (the embedding splits when the
//   limit is lowered);
// - a truncated copy (the first 2 of 32 layers at full width: D = 1600, E = 3200, 25/5 heads, vocab 32001) with
//   deterministic random bf16 weights generated on the GPU: prefill + decode == the CPU engine on the same weights
//   (read back from the GPU). SKIPPED here: layers 2..31 (the bench runs all 32 on a real GPU) and the 128 meta
//   tokens at full width (a 128-row prefill takes minutes on SwiftShader; the golden tests cover meta tokens);
// - a bf16 sharded checkpoint gives the logits of its float32 twin holding the same rounded values (GPU and CPU).
import { describe, expect, it } from 'vitest';
import { parseConfig, parameterCount } from '../engine/config.ts';
import { getPreset, type HymbaPreset } from '../engine/presets.ts';
import { loadCheckpoint, memoryFiles, type Checkpoint } from '../engine/checkpoint/load.ts';
import { CpuEngine } from '../engine/cpu/forward.ts';
import { maxAbsDiff } from '../engine/tensor.ts';
import { nodeGpu } from '../engine/webgpu/node-device.node.ts';
import { WebGpuEngine } from '../engine/webgpu/engine.ts';
import { planWeights } from '../engine/webgpu/weights.ts';
import { truncateLayers } from '../bench/decode-bench.ts';
import { bf16Round, encode, plainF32Tensors, readGolden, shardedFolder } from './fixtures/checkpoints.ts';

const full = parseConfig((getPreset('hymba-1.5b') as HymbaPreset).config);
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

describe('Hymba-1.5B weight set on the GPU', () => {
  it('611 tensors, 1,522,797,824 parameters, bf16 matrices packed under the 128 MiB binding limit', () => {
    const set = planWeights(full, 'BF16', 2 ** 27);
    expect(set).toHaveLength(611);
    expect(set.reduce((a, w) => a + numel(w.shape), 0)).toBe(1_522_797_824);
    expect(parameterCount(full)).toBe(1_522_797_824);
    const embed = set.find((w) => w.name === 'model.embed_tokens.weight')!;
    expect([embed.dtype, embed.bytes, embed.chunkRows]).toEqual(['BF16', 102_403_200, [32001]]);
    expect(set.filter((w) => w.dtype === 'BF16').length).toBe(2 + 32 * 7); // embed, meta; in/x/dt/out/gate/up/down per layer
    for (const w of set) for (const rows of w.chunkRows) expect(rows * (w.bytes / w.shape[0])).toBeLessThanOrEqual(2 ** 27);
    // Matrices bf16 + vectors f32: the ~3.05 GB of the model card, plus the small f32 vectors.
    expect(set.reduce((a, w) => a + w.bytes, 0)).toBeGreaterThan(3.04e9);
    // In f32 the embedding (204.8 MB) no longer fits one 128 MiB binding: it is split in two.
    expect(planWeights(full, 'F32', 2 ** 27).find((w) => w.name === 'model.embed_tokens.weight')!.chunkRows).toEqual([20971, 11030]);
  });

  it('first 2 layers at full width, random bf16 weights made on the GPU: prefill + decode == CPU (layers 2..31 skipped)', async () => {
    const config = truncateLayers(full, 2);
    const { engine, weights } = await WebGpuEngine.createRandom(await nodeGpu(), config, { seed: 7, dtype: 'BF16' });
    try {
      const set = engine.weightSet();
      expect(set.map((w) => w.name)).toEqual(planWeights(config, 'BF16', engine.maxBinding).map((w) => w.name));
      expect(set.find((w) => w.name === 'model.layers.0.mamba.in_proj.weight')).toMatchObject({
        dtype: 'BF16',
        shape: [8960, 1600],
        bytes: 28_672_000,
      });
      const ck = await weights.readBack(engine.rt);
      const inProj = ck.weights.get('model.layers.1.mamba.in_proj.weight')!;
      expect(inProj.dtype).toBe('BF16');
      const cpu = new CpuEngine(ck).session({ meta: false });
      const gpu = await engine.session({ meta: false, maxContext: 8 });
      // A one-token prefill: SwiftShader runs the tiled prefill GEMM at full width far too slowly for a unit test.
      const a = await cpu.prefill([1]);
      const b = await gpu.prefill([1]);
      expect(b.logits.every(Number.isFinite)).toBe(true);
      let err = maxAbsDiff(a.logits, b.logits);
      for (const id of [15043, 3186]) err = Math.max(err, maxAbsDiff((await cpu.step(id)).logits, (await gpu.step(id)).logits));
      const scale = Math.max(...a.logits.map(Math.abs));
      expect(scale).toBeGreaterThan(0.1);
      expect(err).toBeLessThan(2e-4 * Math.max(1, scale));
      gpu.dispose();
    } finally {
      engine.dispose();
    }
  }, 300_000);
});

describe('bf16 sharded checkpoint == its float32 twin with the same rounded values', () => {
  it('same logits on the CPU and on WebGPU (prefill and decode)', async () => {
    const golden = readGolden('pub_a_m8_d64');
    const reference = plainF32Tensors(golden.modelBytes);
    const rounded = reference.map((t) => ({ ...t, data: Float32Array.from(t.data, bf16Round) }));
    const bf16 = await loadCheckpoint(memoryFiles('bf16', { 'config.json': golden.configText, ...shardedFolder(reference, 3, 'BF16') }));
    const f32 = await loadCheckpoint(memoryFiles('f32', { 'config.json': golden.configText, 'model.safetensors': encode(rounded) }));
    expect(new Set([...bf16.weights.values()].map((w) => w.dtype))).toEqual(new Set(['BF16']));
    const prompt = [1, 17, 42, 99, 3, 250, 8, 61];
    const run = async (ck: Checkpoint, backend: 'cpu' | 'gpu') => {
      const s = backend === 'cpu' ? new CpuEngine(ck).session({}) : await (await WebGpuEngine.create(await nodeGpu(), ck)).session({});
      const out = [(await s.prefill(prompt)).logits];
      for (const id of [5, 9, 2]) out.push((await s.step(id)).logits);
      return out;
    };
    for (const backend of ['cpu', 'gpu'] as const) {
      const [a, b] = [await run(bf16, backend), await run(f32, backend)];
      // The same values in: equal up to f32 summation order (the GPU's packed and f32 kernels group products differently).
      expect(Math.max(...a.map((l, i) => maxAbsDiff(l, b[i]))), backend).toBeLessThan(backend === 'cpu' ? 1e-6 : 1e-4);
    }
  });
});
