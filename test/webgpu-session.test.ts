// The WebGPU decode session: golden cached (hf) and uncached (prefill) greedy decodes, the CPU session on random
// configs whose windows wrap (meta on/off, KV consumers, an ablation, attention-/SSM-only layers), GPU-side greedy
// (ids only) == logits path, cache bytes == calculator at every step, taps, readKv, and no GPU memory growth.
import { describe, it, expect, beforeAll } from 'vitest';
import { loadCheckpoint, type Checkpoint } from '../engine/checkpoint/load.ts';
import { folderFiles } from '../engine/checkpoint/folder.node.ts';
import { CpuEngine } from '../engine/cpu/forward.ts';
import type { HymbaConfig } from '../engine/config.ts';
import { parseAblation } from '../engine/ablation.ts';
import { cacheBytes } from '../engine/cache/calculator.ts';
import { InputError } from '../engine/model.ts';
import { argmax, generate } from '../engine/sampling.ts';
import type { DecodeSession, SessionOptions, WindowRule } from '../engine/session/types.ts';
import { maxAbsDiff } from '../engine/tensor.ts';
import { nodeGpu } from '../engine/webgpu/node-device.node.ts';
import { WebGpuEngine, type WebGpuEngineOptions } from '../engine/webgpu/engine.ts';
import type { Stream } from '../engine/webgpu/decode-program.ts';
import { decodeCost, recordDecodeVariant } from '../bench/decode-bench.ts';
import { goldenDir, goldenNames } from './paths.ts';
import { kernelProfiles, readExpected, tinyCheckpoint, withDtype } from './webgpu-helpers.ts';

const rowsOf = (flat: Float32Array, V: number) => Array.from({ length: flat.length / V }, (_, s) => flat.subarray(s * V, (s + 1) * V));
const maxOver = (a: Float32Array[], b: Float32Array[]) => Math.max(...a.map((x, i) => maxAbsDiff(x, b[i])));

function expectCacheMatchesCalculator(s: DecodeSession, config: HymbaConfig, rule: WindowRule, meta: boolean, window: number) {
  const c = { ...config, numMetaTokens: meta ? config.numMetaTokens : 0, slidingWindow: window };
  const want = cacheBytes(c, { seqLen: s.length, dtype: 'f32', stateDtype: 'f32', windowRule: rule });
  const got = s.cacheUsage();
  expect([got.total_bytes, got.kv_bytes, got.conv_state_bytes, got.ssm_state_bytes]).toEqual([
    want.total_bytes,
    want.kv_bytes,
    want.conv_state_bytes,
    want.ssm_state_bytes,
  ]);
  expect(got.layers.map((l) => [l.kvEntries, l.kv_bytes])).toEqual(want.layers.map((l) => [l.kv_entries, l.kv_bytes]));
}

describe.each(goldenNames)('golden %s on WebGPU', (name) => {
  let engine: WebGpuEngine;
  let ex: (n: string) => Float32Array;
  let prompt: number[];
  beforeAll(async () => {
    engine = await WebGpuEngine.create(await nodeGpu(), await loadCheckpoint(folderFiles(goldenDir(name))));
    ex = readExpected(goldenDir(name));
    prompt = Array.from(ex('input_ids'));
  });

  it.each([
    ['hf', 'gen_ids', 'gen_logits'],
    ['prefill', 'gen_ids_nocache', 'gen_logits_nocache'],
  ] as const)('%s rule: greedy decode gives %s exactly and %s within 1e-4; bytes == calculator', async (rule, idsName, logitsName) => {
    const V = engine.config.vocabSize;
    const s = await engine.session({ windowRule: rule });
    const seen: number[] = [];
    const r = await generate(s, prompt, {
      maxNewTokens: 12,
      onToken: () => {
        expectCacheMatchesCalculator(s, engine.config, rule, true, engine.config.slidingWindow);
        seen.push(s.length);
      },
    });
    expect(r.ids).toEqual(Array.from(ex(idsName)));
    const err = maxOver(r.logits, rowsOf(ex(logitsName), V));
    console.log(`${name} ${rule}: max |logit − golden| = ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-4);
    expect(seen).toEqual(Array.from({ length: 12 }, (_, k) => prompt.length + k));
    s.dispose();
  });

  it('greedy() on the GPU (ids only) gives the same tokens as the logits path', async () => {
    const s = await engine.session({ windowRule: 'hf' });
    const first = argmax((await s.prefill(prompt)).logits);
    const ids = await s.greedy(first, 11);
    expect([first, ...ids]).toEqual(Array.from(ex('gen_ids')));
    expect(s.length).toBe(prompt.length + 11);
    s.dispose();
  });
});

// Under both kernel profiles (runtime.ts): the decode GEMVs, attention and scan variants all agree with the CPU.
describe.each(kernelProfiles)('WebGPU session == CPU session on random models whose windows wrap, %s kernel profile', (kernelProfile) => {
  // Engine options (4th): the gpu profile's GEMVs reduce with subgroups where the device has them (SwiftShader: 4
  // lanes), so one case keeps the workgroup-memory reductions and one has each row within a subgroup (64 rows of 4
  // threads per workgroup).
  const cases: Array<[string, Record<string, unknown>, SessionOptions, WebGpuEngineOptions?]> = [
    ['meta, SWA producer + consumer, hf', {}, { windowRule: 'hf' }],
    ['meta, prefill rule, an ablation', {}, { windowRule: 'prefill', ablation: parseAblation('attn@1:1,ssm@2', tinyCheckpoint().config) }],
    ['no meta tokens, window override, no subgroups', {}, { windowRule: 'hf', meta: false, window: 3 }, { decodeSubgroups: false }],
    [
      'recompute the meta tokens in the prefill, 4 threads per GEMV row',
      {},
      { windowRule: 'prefill', reuseMetaState: false },
      { decodeRows: 64 },
    ],
    [
      'attention-only and SSM-only layers, triple KV group',
      {
        num_hidden_layers: 5,
        global_attn_idx: [0],
        kv_reuse_group: [[1, 2, 3]],
        lab_mixers: ['hybrid', 'hybrid', 'attention', 'hybrid', 'ssm'],
      },
      { windowRule: 'hf' },
    ],
  ];
  it.each(cases)('%s', async (_label, overrides, opts, engineOpts = {}) => {
    const ck = tinyCheckpoint(overrides, 3);
    const cpu = new CpuEngine(ck).session(opts);
    const gpuEngine = await WebGpuEngine.create(await nodeGpu(), ck, { kernelProfile, ...engineOpts });
    const gpu = await gpuEngine.session(opts);
    const prompt = [1, 5, 9, 2, 7, 30, 11, 4, 8, 13];
    let err = maxAbsDiff((await cpu.prefill(prompt)).logits, (await gpu.prefill(prompt)).logits);
    for (let t = 0; t < 9; t++) {
      const id = (t * 7 + 3) % ck.config.vocabSize;
      err = Math.max(err, maxAbsDiff((await cpu.step(id)).logits, (await gpu.step(id)).logits));
      // Equal accounting; only the spare room differs (the CPU grows a global cache, the GPU allocates it at once).
      expect({ ...gpu.cacheUsage(), kv_reserved_bytes: 0 }).toEqual({ ...cpu.cacheUsage(), kv_reserved_bytes: 0 });
    }
    // A continuation prefill after decode steps reads the same caches.
    err = Math.max(err, maxAbsDiff((await cpu.prefill([3, 4, 5])).logits, (await gpu.prefill([3, 4, 5])).logits));
    expect(err).toBeLessThan(1e-4);
    for (const layer of [0, 1, 2]) {
      const a = (await cpu.readKv(layer))!;
      const b = (await gpu.readKv(layer))!;
      expect(b.positions).toEqual(a.positions);
      expect(maxAbsDiff(b.k, a.k)).toBeLessThan(1e-4);
      expect(maxAbsDiff(b.v, a.v)).toBeLessThan(1e-4);
    }
    gpu.dispose();
    gpuEngine.dispose();
  });

  it('bf16 weights with split matrices: decode matches the CPU on the same rounded values', async () => {
    const ck = withDtype(tinyCheckpoint({}, 4), 'BF16');
    const cpu = new CpuEngine(ck).session({});
    const gpuEngine = await WebGpuEngine.create(await nodeGpu(), ck, { maxBindingBytes: 200, kernelProfile });
    expect(gpuEngine.weightSet().find((w) => w.name === 'model.layers.0.mamba.in_proj.weight')!.chunkRows.length).toBeGreaterThan(1);
    const gpu = await gpuEngine.session({});
    let err = maxAbsDiff((await cpu.prefill([1, 2, 3, 4, 5, 6, 7])).logits, (await gpu.prefill([1, 2, 3, 4, 5, 6, 7])).logits);
    for (const id of [8, 9, 10, 11, 12, 13]) err = Math.max(err, maxAbsDiff((await cpu.step(id)).logits, (await gpu.step(id)).logits));
    expect(err).toBeLessThan(1e-4);
    gpuEngine.dispose();
  });

  // Wide enough that the GEMVs' unrolled loads (kernels/gemv.ts) and the merged x_proj's (decode-attention.ts) run.
  // A decode step of this model takes seconds on SwiftShader under the gpu profile, so that profile checks its own
  // layout (merged, unroll 4) and the cheaper cpu-like profile checks both layouts.
  const layouts: [decodeMerge: boolean, decodeUnroll: number][] =
    kernelProfile === 'gpu'
      ? [[true, 4]]
      : [
          [false, 1],
          [true, 4],
        ];
  it.each(['F32', 'BF16'] as const)(
    `%s weights, wide layers: decode layouts ${layouts.map(([m, u]) => `${m ? 'merged' : 'unmerged'}/unroll ${u}`).join(', ')} match the CPU`,
    async (dtype) => {
      const ck = withDtype(tinyCheckpoint({ hidden_size: 320, intermediate_size: 2056 }, 5), dtype);
      for (const [decodeMerge, decodeUnroll] of layouts) {
        const cpu = new CpuEngine(ck).session({});
        const gpuEngine = await WebGpuEngine.create(await nodeGpu(), ck, { kernelProfile, decodeMerge, decodeUnroll });
        const gpu = await gpuEngine.session({});
        const prompt = [1, 2, 3, 4, 5, 6, 7];
        const want = [(await cpu.prefill(prompt)).logits];
        const got = [(await gpu.prefill(prompt)).logits];
        for (const id of [8, 9]) {
          want.push((await cpu.step(id)).logits);
          got.push((await gpu.step(id)).logits);
        }
        const scale = Math.max(1, ...want.map((l) => Math.max(...l.map(Math.abs))));
        expect(maxOver(got, want) / scale).toBeLessThan(1e-4);
        gpu.dispose();
        gpuEngine.dispose();
      }
    },
  );

  it('step taps equal the CPU session taps; attention probabilities are refused with a typed error', async () => {
    const ck = tinyCheckpoint({}, 5);
    const taps = ['layers.1.attn_out', 'layers.*.ssm.state', 'hidden_states.2', 'layers.0.ssm.conv', 'logits'];
    const cpu = new CpuEngine(ck).session({ taps });
    const gpuEngine = await WebGpuEngine.create(await nodeGpu(), ck, { kernelProfile });
    const gpu = await gpuEngine.session({ taps });
    const pairs = [
      [await cpu.prefill([1, 2, 3, 4, 5, 6]), await gpu.prefill([1, 2, 3, 4, 5, 6])],
      [await cpu.step(7), await gpu.step(7)],
    ];
    for (const [a, b] of pairs) {
      expect([...b.taps.keys()].sort()).toEqual([...a.taps.keys()].sort());
      for (const [n, t] of a.taps) {
        expect(b.taps.get(n)!.shape, n).toEqual(t.shape);
        expect(maxAbsDiff(b.taps.get(n)!, t), n).toBeLessThan(1e-4);
      }
    }
    const probs = await gpuEngine.session({ taps: ['layers.1.attn.probs'] });
    await expect(probs.prefill([1, 2])).rejects.toThrow(InputError);
    gpuEngine.dispose();
  });
});

describe('WebGPU session lifecycle', () => {
  let ck: Checkpoint;
  beforeAll(() => {
    ck = tinyCheckpoint({}, 6);
  });

  it("decode streams (the bytes the benchmark's ceilings read) are the matrices and K/V entries decodeCost counts", async () => {
    // bf16, matrices split into chunks: every chunk is a stream of its own.
    const engine = await WebGpuEngine.create(await nodeGpu(), withDtype(ck, 'BF16'), { maxBindingBytes: 200 });
    const s = await engine.session({});
    await s.prefill([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const streams: Stream[] = [];
    recordDecodeVariant(s, engine.rt.device.createCommandEncoder(), 1, (d) => (streams.push(...d.streams), false));
    for (const st of streams) expect(st.bytes).toBeLessThanOrEqual(st.buffer.size);
    const c = engine.config;
    const ssmLayers = c.layers.filter((l) => l.hasSsm).length;
    const cost = decodeCost(s);
    // decodeCost also counts the gathered embedding row, and the conv and SSM states read and written; a stream reads
    // each matrix, the attended K/V entries and the SSM state once.
    const kvBytes = cost.cacheBytes - ssmLayers * 2 * c.dInner * (c.dState + c.dConv - 1) * 4;
    const want = cost.weightBytes - c.hiddenSize * 2 + kvBytes + ssmLayers * c.dInner * c.dState * 4;
    expect(streams.reduce((a, st) => a + st.bytes, 0)).toBe(want);
    s.dispose();
    engine.dispose();
  });

  it('bad input gets typed errors', async () => {
    const engine = await WebGpuEngine.create(await nodeGpu(), ck);
    const s = await engine.session({ maxContext: 4 });
    await expect(s.step(1)).rejects.toThrow(/before prefill/);
    await expect(s.prefill([1, 2, 3, 4, 5])).rejects.toThrow(/maxContext 4/);
    await expect(s.prefill([1, 999])).rejects.toThrow(InputError);
    await expect(engine.session({ windowRule: 'x' as WindowRule })).rejects.toThrow(InputError);
    await expect(engine.session({ maxContext: 10 ** 6 })).rejects.toThrow(/RoPE table/);
    s.dispose();
    await expect(s.prefill([1])).rejects.toThrow(/disposed/);
    engine.dispose();
  });

  it('no GPU memory growth: sessions free every buffer they made; the meta state stays with the model', async () => {
    const engine = await WebGpuEngine.create(await nodeGpu(), ck);
    const warm = await engine.session({});
    await warm.prefill([1, 2, 3]);
    await warm.step(4);
    warm.dispose();
    engine.trim(); // pooled activation buffers of the prefill pass are the engine's, not the session's
    const before = engine.allocatedBytes();
    for (let r = 0; r < 3; r++) {
      const s = await engine.session({ windowRule: r % 2 ? 'hf' : 'prefill' });
      await s.prefill([1, 2, 3, 4, 5]);
      await s.greedy(6, 4);
      expect(engine.allocatedBytes()).toBeGreaterThan(before);
      expect(s.cacheUsage().kv_reserved_bytes).toBeGreaterThanOrEqual(s.cacheUsage().kv_bytes);
      s.dispose();
      engine.trim();
      expect(engine.allocatedBytes()).toBe(before);
    }
    engine.dispose();
    expect(engine.allocatedBytes()).toBe(0);
  });
});
