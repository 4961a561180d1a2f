// lab_qkv_conv (a causal depthwise conv over each attention layer's Q/K/V columns) on WebGPU, under both kernel
// profiles: the forward pass (logits and taps) against the CPU engine and against the model without the key (W = 1
// with weight 1 is the identity), forwardBatch, and the decode session token by token against the prefill logits
// and the CPU session (cache bytes == calculator after every step; the conv state is set by the meta tokens).
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../engine/cpu/forward.ts';
import { cacheBytes } from '../engine/cache/calculator.ts';
import type { Checkpoint, Weight } from '../engine/checkpoint/load.ts';
import type { ForwardOptions } from '../engine/model.ts';
import type { SessionOptions } from '../engine/session/types.ts';
import { maxAbsDiff } from '../engine/tensor.ts';
import { WebGpuEngine, type WebGpuEngineOptions } from '../engine/webgpu/engine.ts';
import { nodeGpu } from '../engine/webgpu/node-device.node.ts';
import { kernelProfiles, tinyCheckpoint, tinyConfig, withDtype, worstGpuCpuDiff } from './webgpu-helpers.ts';

const ids = [1, 7, 3, 39, 12, 5, 5, 20, 0, 8, 31];
const taps = ['layers.*.in_proj', 'layers.*.attn.qkv_conv', 'layers.*.attn.q', 'layers.*.attn.k', 'layers.*.attn.v', 'layers.*.attn_out'];
// Layer 0 global, layers 1–2 a KV-sharing pair (layer 2 convolves its Q only).
const qkv2 = { lab_qkv_conv: 2 };
const variants = {
  lab_qkv_conv: 3,
  num_hidden_layers: 4,
  lab_mixers: ['hybrid', 'attention', 'ssm', 'attention'],
  kv_reuse_group: [[1, 3]],
};

async function gpuEngine(ck: Checkpoint, opts: WebGpuEngineOptions): Promise<WebGpuEngine> {
  return WebGpuEngine.create(await nodeGpu(), ck, opts);
}

/** Max |GPU − CPU| over the logits and the taps (the same tap names on both). */
const compare = (ck: Checkpoint, opts: ForwardOptions, engineOpts: WebGpuEngineOptions): Promise<number> =>
  worstGpuCpuDiff(ck, ids, { taps, ...opts }, engineOpts);

/** The same weights under lab_qkv_conv = 1 with every tap 1: the identity conv. */
function withIdentityConv(ck: Checkpoint): Checkpoint {
  const config = tinyConfig({ ...ck.config.raw, lab_qkv_conv: 1 });
  const weights = new Map(ck.weights);
  for (const l of config.layers) {
    if (l.qkvConv === 0) continue;
    const name = `model.layers.${l.index}.mamba.qkv_conv.weight`;
    const w: Weight = {
      name,
      dtype: 'F32',
      shape: [l.qkvColumns, 1, 1],
      bytes: new Uint8Array(new Float32Array(l.qkvColumns).fill(1).buffer),
    };
    weights.set(name, w);
  }
  return { config, weights, label: 'identity qkv conv' };
}

describe.each(kernelProfiles)('lab_qkv_conv on WebGPU, %s kernel profile', (kernelProfile) => {
  it('forward: logits and taps equal the CPU engine (meta on/off, variant layers, f16/bf16, split weights)', async () => {
    const ck = tinyCheckpoint(qkv2, 11);
    expect(ck.config.layers.map((l) => [l.qkvConv, l.qkvColumns])).toEqual([
      [2, 52],
      [2, 52],
      [2, 24],
    ]);
    expect(await compare(ck, {}, { kernelProfile })).toBeLessThan(1e-4);
    expect(await compare(ck, { meta: false, window: 2 }, { kernelProfile })).toBeLessThan(1e-4);
    expect(await compare(tinyCheckpoint(variants, 12), {}, { kernelProfile })).toBeLessThan(1e-4);
    expect(await compare(withDtype(ck, 'BF16'), {}, { kernelProfile })).toBeLessThan(1e-4);
    expect(await compare(withDtype(ck, 'F16'), {}, { kernelProfile, maxBindingBytes: 200 })).toBeLessThan(1e-4);
  });

  it('forward: W = 1 with weight 1 gives the model without the key', async () => {
    const plain = tinyCheckpoint({}, 13);
    const a = await gpuEngine(plain, { kernelProfile });
    const b = await gpuEngine(withIdentityConv(plain), { kernelProfile });
    const [x, y] = [await a.forward(ids), await b.forward(ids, { taps: ['layers.0.attn.qkv_conv'] })];
    expect(y.taps.get('layers.0.attn.qkv_conv')!.shape).toEqual([3 + ids.length, 52]);
    expect(maxAbsDiff(x.logits, y.logits)).toBeLessThan(1e-6);
    a.dispose();
    b.dispose();
  });

  it('forwardBatch rows equal forward (the conv keeps the stacked sequences apart)', async () => {
    const ck = tinyCheckpoint(qkv2, 14);
    const gpu = await gpuEngine(ck, { kernelProfile });
    const seqs = [ids, ids.map((t) => (t * 3 + 1) % 40), ids.slice().reverse()];
    const positions = [0, 4, ids.length - 1];
    const batch = await gpu.forwardBatch!(seqs.map((s) => ({ ids: s, positions })));
    for (const [k, s] of seqs.entries()) {
      const full = (await gpu.forward(s)).logits;
      const V = ck.config.vocabSize;
      const want = Float32Array.from(positions.flatMap((t) => Array.from(full.data.subarray(t * V, (t + 1) * V))));
      expect(maxAbsDiff(batch[k].data, want)).toBeLessThan(1e-4);
    }
    gpu.dispose();
  });

  const sessionCases: Array<[string, Record<string, unknown>, SessionOptions]> = [
    ['W = 2, meta state precomputed', qkv2, { windowRule: 'prefill' }],
    ['W = 2, meta tokens run in the first prefill', qkv2, { windowRule: 'prefill', reuseMetaState: false }],
    ['W = 3, attention-only and SSM-only layers, no meta tokens', variants, { windowRule: 'prefill', meta: false }],
  ];
  it.each(sessionCases)('session decode token by token equals the prefill logits: %s', async (_label, overrides, opts) => {
    const ck = tinyCheckpoint(overrides, 15);
    const gpu = await gpuEngine(ck, { kernelProfile });
    const seq = [1, 5, 9, 2, 7, 30, 11, 4, 8, 13, 22, 6];
    const split = 4;
    // The 'prefill' window rule decodes under the prefill mask, so each step's logits are a row of one forward.
    const full = (await gpu.forward(seq, { meta: opts.meta })).logits;
    const cpuFull = (await new CpuEngine(ck).forward(seq, { meta: opts.meta })).logits;
    expect(maxAbsDiff(full, cpuFull)).toBeLessThan(1e-4);
    const V = ck.config.vocabSize;
    const row = (t: number) => full.data.subarray(t * V, (t + 1) * V);
    const s = await gpu.session(opts);
    let err = maxAbsDiff((await s.prefill(seq.slice(0, split))).logits, row(split - 1));
    for (let t = split; t < seq.length; t++) {
      err = Math.max(err, maxAbsDiff((await s.step(seq[t])).logits, row(t)));
      const c = { ...ck.config, numMetaTokens: (opts.meta ?? true) ? ck.config.numMetaTokens : 0 };
      const want = cacheBytes(c, { seqLen: s.length, dtype: 'f32', stateDtype: 'f32', windowRule: 'prefill' });
      const got = s.cacheUsage();
      expect([got.total_bytes, got.conv_state_bytes]).toEqual([want.total_bytes, want.conv_state_bytes]);
    }
    expect(err).toBeLessThan(1e-4);
    s.dispose();
    gpu.dispose();
  });

  it('session (hf rule, with step taps) equals the CPU session; greedy() equals the logits path', async () => {
    const ck = tinyCheckpoint(qkv2, 16);
    const sessionTaps = ['layers.*.attn.qkv_conv', 'layers.1.attn_out', 'logits'];
    const cpu = new CpuEngine(ck).session({ taps: sessionTaps });
    const gpu = await gpuEngine(ck, { kernelProfile });
    const tapped = await gpu.session({ taps: sessionTaps });
    const plain = await gpu.session({});
    const prompt = [1, 5, 9, 2, 7, 30];
    const pairs = [[await cpu.prefill(prompt), await tapped.prefill(prompt)]];
    let err = maxAbsDiff(pairs[0][0].logits, (await plain.prefill(prompt)).logits);
    const fed: number[] = [];
    for (let t = 0; t < 6; t++) {
      const id = (t * 7 + 3) % ck.config.vocabSize;
      fed.push(id);
      const [a, b] = [await cpu.step(id), await tapped.step(id)];
      pairs.push([a, b]);
      err = Math.max(err, maxAbsDiff(a.logits, (await plain.step(id)).logits));
      expect({ ...plain.cacheUsage(), kv_reserved_bytes: 0 }).toEqual({ ...cpu.cacheUsage(), kv_reserved_bytes: 0 });
    }
    for (const [a, b] of pairs) {
      expect([...b.taps.keys()].sort()).toEqual([...a.taps.keys()].sort());
      for (const [n, t] of a.taps) {
        expect(b.taps.get(n)!.shape, n).toEqual(t.shape);
        err = Math.max(err, maxAbsDiff(b.taps.get(n)!, t));
      }
      err = Math.max(err, maxAbsDiff(a.logits, b.logits));
    }
    expect(err).toBeLessThan(1e-4);
    // The GPU-side greedy loop runs the same program: its ids are the argmax of the logits path.
    const [g, h] = [await gpu.session({}), await gpu.session({})];
    await g.prefill(prompt);
    await h.prefill(prompt);
    const viaGreedy = await g.greedy(3, 4);
    const viaSteps: number[] = [];
    let next = 3;
    for (let k = 0; k < 4; k++) {
      const l = (await h.step(next)).logits;
      next = l.indexOf(Math.max(...l));
      viaSteps.push(next);
    }
    expect(viaGreedy).toEqual(viaSteps);
    gpu.dispose();
  });
});

describe('lab_qkv_conv steps()', () => {
  it('runs the CPU op list name for name (attn.qkv_conv between in_proj and attn.q) and reads the tap', async () => {
    const ck = tinyCheckpoint(qkv2, 17);
    const gpu = await gpuEngine(ck, {});
    const names = async (steps: AsyncGenerator<{ name: string }>) => {
      const out: string[] = [];
      for await (const s of steps) out.push(s.name);
      return out;
    };
    const cpuNames = await names(new CpuEngine(ck).steps(ids.slice(0, 4)));
    expect(await names(gpu.steps(ids.slice(0, 4)))).toEqual(cpuNames);
    expect(cpuNames.slice(cpuNames.indexOf('layers.0.in_proj'), cpuNames.indexOf('layers.0.attn.q') + 1)).toEqual([
      'layers.0.in_proj',
      'layers.0.attn.qkv_conv',
      'layers.0.attn.q',
    ]);
    const want = (await new CpuEngine(ck).forward(ids.slice(0, 4), { taps: ['layers.1.attn.qkv_conv'] })).taps.get(
      'layers.1.attn.qkv_conv',
    )!;
    for await (const s of gpu.steps(ids.slice(0, 4))) {
      if (s.name !== 'layers.1.attn.qkv_conv') continue;
      expect(maxAbsDiff(await s.read('layers.1.attn.qkv_conv'), want)).toBeLessThan(1e-5);
    }
    gpu.dispose();
  });
});
