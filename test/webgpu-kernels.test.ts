// Every WGSL kernel against its CPU reference op (engine/cpu/ops.ts) on random, deliberately awkward shapes.
import { describe, expect, it } from 'vitest';
import * as op from '../engine/cpu/ops.ts';
import { maxAbsDiff, sliceCols, tensor } from '../engine/tensor.ts';
import { uploadMatrix } from '../engine/webgpu/weights.ts';
import { encodeLinear } from '../engine/webgpu/kernels/linear.ts';
import { colsView, encodeRmsnorm, whole } from '../engine/webgpu/kernels/rmsnorm.ts';
import { encodeRope, ropeTable } from '../engine/webgpu/kernels/rope.ts';
import { encodeAttention, type AttentionShape } from '../engine/webgpu/kernels/attention.ts';
import { encodeAttentionProbs } from '../engine/webgpu/kernels/attention-probs.ts';
import { encodeConv, encodeConvState } from '../engine/webgpu/kernels/conv.ts';
import { encodeScan } from '../engine/webgpu/kernels/scan.ts';
import { encodeFuse } from '../engine/webgpu/kernels/fuse.ts';
import { encodeGather, uploadIds } from '../engine/webgpu/kernels/gather.ts';
import { encodeCopyCols } from '../engine/webgpu/kernels/copy-cols.ts';
import { encodeAdd, encodeGate, encodeSoftplusBias, encodeSwiglu } from '../engine/webgpu/kernels/elementwise.ts';
import { argmaxKernel } from '../engine/webgpu/kernels/decode-ssm.ts';
import { argmax } from '../engine/sampling.ts';
import { emptyGpu, gpuRuntime, kernelProfiles, randomTensor, rng, runPass, toGpu, weightOf } from './webgpu-helpers.ts';

// Every kernel test runs under both kernel profiles (runtime.ts KernelProfile): the same results within tolerance.
describe.each(kernelProfiles)('%s kernel profile', (profile) => {
  describe('linear kernel (GEMM for T > 1, GEMV for T = 1)', () => {
    it('matches op.linear for odd shapes, row ranges, f32/f16/bf16 weights and split weights', async () => {
      const rt = await gpuRuntime(profile);
      const cases = [
        { T: 1, K: 13, out: 37, r0: 0, r1: 37, dtype: 'F32', chunkBytes: 1 << 20 },
        { T: 7, K: 70, out: 45, r0: 5, r1: 41, dtype: 'BF16', chunkBytes: 1 << 20 },
        { T: 33, K: 17, out: 66, r0: 0, r1: 66, dtype: 'F16', chunkBytes: 1 << 20 },
        // split weight: 10 rows per chunk, a row range crossing chunk borders
        { T: 33, K: 21, out: 50, r0: 7, r1: 43, dtype: 'BF16', chunkBytes: 10 * 21 * 2 + 4 },
        { T: 1, K: 21, out: 50, r0: 3, r1: 48, dtype: 'F32', chunkBytes: 7 * 21 * 4 + 4 },
      ] as const;
      for (const [i, c] of cases.entries()) {
        const x = randomTensor([c.T, c.K], 10 + i);
        const { weight, rounded } = weightOf('w', [c.out, c.K], randomTensor([c.out, c.K], 20 + i).data, c.dtype);
        const W = uploadMatrix(rt, weight, c.chunkBytes);
        if (c.chunkBytes < 4096) expect(W.chunks.length).toBeGreaterThan(2);
        const out = emptyGpu(rt, [c.T, c.r1 - c.r0]);
        const [got] = await runPass(rt, (pass) => encodeLinear(pass, whole(toGpu(rt, x)), c.T, W, whole(out), c.r0, c.r1), [out]);
        const want = op.linear(x, rounded, c.out, c.K, c.r0, c.r1);
        expect(maxAbsDiff(got, want), JSON.stringify(c)).toBeLessThan(2e-5);
      }
    });
  });

  describe('row-wise kernels', () => {
    it('rmsnorm on a strided column view, with and without gain', async () => {
      const rt = await gpuRuntime(profile);
      const x = randomTensor([7, 90], 1, 3);
      const gain = randomTensor([33], 2).data;
      const gx = toGpu(rt, x);
      const a = emptyGpu(rt, [7, 33]);
      const b = emptyGpu(rt, [7, 33]);
      const [ga, gb] = await runPass(
        rt,
        (pass) => {
          encodeRmsnorm(pass, colsView(gx, 50), 7, 33, rt.upload(gain, 'g'), 1e-6, whole(a));
          encodeRmsnorm(pass, colsView(gx, 0), 7, 33, null, 1e-6, whole(b));
        },
        [a, b],
      );
      expect(maxAbsDiff(ga, op.rmsnorm(sliceCols(x, 50, 83), gain, 1e-6))).toBeLessThan(2e-6);
      expect(maxAbsDiff(gb, op.rmsnorm(sliceCols(x, 0, 33), null, 1e-6))).toBeLessThan(2e-6);
    });

    it('fuse = mean of the RMSNorm-ed branches with (ablated) gains, and one branch alone', async () => {
      const rt = await gpuRuntime(profile);
      const [T, E] = [5, 70];
      const a = randomTensor([T, E], 3, 2);
      const s = randomTensor([T, E], 4, 0.1);
      const g1 = randomTensor([E], 5).data.map((v, i) => (i < 35 ? 0 : v)); // attention heads 0 ablated
      const g2 = randomTensor([E], 6).data;
      const both = emptyGpu(rt, [T, E]);
      const one = emptyGpu(rt, [T, E]);
      const ga = { x: toGpu(rt, a), gain: rt.upload(g1, 'g1') };
      const gs = { x: toGpu(rt, s), gain: rt.upload(g2, 'g2') };
      const [gotBoth, gotOne] = await runPass(
        rt,
        (pass) => {
          encodeFuse(pass, ga, gs, 1e-6, both);
          encodeFuse(pass, null, gs, 1e-6, one);
        },
        [both, one],
      );
      const na = op.rmsnorm(a, g1, 1e-6);
      const ns = op.rmsnorm(s, g2, 1e-6);
      expect(
        maxAbsDiff(
          gotBoth,
          tensor(
            [T, E],
            na.data.map((v, i) => v / 2 + ns.data[i] / 2),
          ),
        ),
      ).toBeLessThan(2e-6);
      expect(maxAbsDiff(gotOne, ns)).toBeLessThan(2e-6);
    });
  });

  describe('rope kernel', () => {
    it('matches op.rope (rotate-half, NTK base) from a strided view, at an offset position', async () => {
      const rt = await gpuRuntime(profile);
      const [T, heads, d, pos0] = [7, 3, 10, 5];
      const invFreq = op.ropeInvFreq(d, 10000 * 7 ** (d / (d - 2)));
      const table = rt.upload(ropeTable(invFreq, 64), 'cos-sin');
      const src = randomTensor([T, 50], 7);
      const out = emptyGpu(rt, [T, heads * d]);
      const [got] = await runPass(rt, (pass) => encodeRope(pass, colsView(toGpu(rt, src), 11), T, heads, d, table, out, pos0), [out]);
      const positions = Array.from({ length: T }, (_, t) => pos0 + t);
      expect(maxAbsDiff(got, op.rope(sliceCols(src, 11, 11 + heads * d), positions, heads, d, invFreq))).toBeLessThan(1e-6);
    });
  });

  describe('attention kernels', () => {
    // A dense mask written independently of both implementations: causal, window, always-visible meta tokens.
    const denseMask = (T: number, window: number | null, M: number) =>
      Array.from({ length: T }, (_, q) => Array.from({ length: T }, (_, k) => k <= q && (window === null || q - k <= window || k < M)));

    const cases: Array<{ T: number; ratio: number; kvHeads: number; dqk: number; dv: number; window: number | null; M: number }> = [
      { T: 1, ratio: 1, kvHeads: 1, dqk: 8, dv: 8, window: null, M: 0 },
      { T: 7, ratio: 2, kvHeads: 2, dqk: 6, dv: 10, window: 2, M: 3 },
      { T: 33, ratio: 3, kvHeads: 1, dqk: 16, dv: 70, window: 5, M: 4 }, // dv > 64: two output columns per thread
      { T: 33, ratio: 4, kvHeads: 2, dqk: 4, dv: 12, window: 100, M: 0 }, // window longer than the sequence
      { T: 70, ratio: 5, kvHeads: 1, dqk: 8, dv: 16, window: 9, M: 2 }, // more than one block of 64 keys
    ];
    it('fused and unfused paths match op.attention; probabilities follow the dense mask', async () => {
      const rt = await gpuRuntime(profile);
      for (const [i, c] of cases.entries()) {
        const heads = c.kvHeads * c.ratio;
        const q = randomTensor([c.T, heads * c.dqk], 100 + i, 2);
        const k = randomTensor([c.T, c.kvHeads * c.dqk], 200 + i, 2);
        const v = randomTensor([c.T, c.kvHeads * c.dv], 300 + i);
        const s: AttentionShape = { T: c.T, heads, kvHeads: c.kvHeads, dqk: c.dqk, dv: c.dv, qPos0: 0, window: c.window, numMeta: c.M };
        const [gq, gk, gv] = [q, k, v].map((t) => toGpu(rt, t));
        const fused = emptyGpu(rt, [c.T, heads * c.dv]);
        const unfused = emptyGpu(rt, [c.T, heads * c.dv]);
        const probs = emptyGpu(rt, [heads, c.T, c.T]);
        const [gf, gu, gp] = await runPass(
          rt,
          (pass) => {
            encodeAttention(pass, s, gq, gk, gv, fused);
            encodeAttentionProbs(pass, s, c.T, gq, gk, gv, probs, unfused);
          },
          [fused, unfused, probs],
        );
        const pos = Array.from({ length: c.T }, (_, t) => t);
        const want = op.attention(
          q,
          k,
          v,
          pos,
          pos,
          { window: c.window, numMeta: c.M },
          { heads, kvHeads: c.kvHeads, dqk: c.dqk, dv: c.dv },
        );
        const label = JSON.stringify(c);
        expect(maxAbsDiff(gf, want.out), label).toBeLessThan(2e-6);
        expect(maxAbsDiff(gu, want.out), label).toBeLessThan(2e-6);
        expect(maxAbsDiff(gp, want.probs), label).toBeLessThan(2e-6);
        const mask = denseMask(c.T, c.window, c.M);
        for (let h = 0; h < heads; h++) {
          for (let t = 0; t < c.T; t++) {
            const row = gp.data.subarray((h * c.T + t) * c.T, (h * c.T + t + 1) * c.T);
            row.forEach((p, key) => expect(p > 0, `${label} h${h} q${t} k${key}`).toBe(mask[t][key]));
            expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
          }
        }
      }
    });
  });

  describe('SSM kernels', () => {
    it('conv1d + SiLU with an input state, and the next state, match op.causalConv1d', async () => {
      const rt = await gpuRuntime(profile);
      for (const T of [1, 2, 9]) {
        const [E, K] = [67, 4];
        const x = randomTensor([T, E], T);
        const w = randomTensor([E, K], 30 + T).data;
        const b = randomTensor([E], 40 + T).data;
        const state = randomTensor([E, K - 1], 50 + T);
        const out = emptyGpu(rt, [T, E]);
        const next = emptyGpu(rt, [E, K - 1]);
        const gx = toGpu(rt, x);
        const gs = rt.upload(state.data, 's');
        const [got, gotNext] = await runPass(
          rt,
          (pass) => {
            encodeConv(pass, gx, gs, rt.upload(w, 'w'), rt.upload(b, 'b'), K, out);
            encodeConvState(pass, gx, gs, K, next.buffer);
          },
          [out, next],
        );
        const want = op.causalConv1d(x, w, b, K, state);
        expect(maxAbsDiff(got, want.out)).toBeLessThan(2e-6);
        expect(maxAbsDiff(gotNext, want.state)).toBe(0);
      }
    });

    it('the scan matches the step-by-step recurrence (states, final state, from zero and from a given state)', async () => {
      const rt = await gpuRuntime(profile);
      for (const [T, E, S] of [
        [1, 5, 16],
        [33, 19, 4],
        [12, 70, 6],
      ]) {
        const r = rng(T * 100 + E);
        const x = randomTensor([T, E], T + 1);
        const dt = tensor(
          [T, E],
          Float32Array.from({ length: T * E }, () => 0.01 + 0.3 * r()),
        );
        const A = Float32Array.from({ length: E * S }, () => -Math.exp(2 * r()));
        const D = randomTensor([E], 7).data;
        const B = randomTensor([T, S], 8);
        const C = randomTensor([T, S], 9);
        const h0 = randomTensor([E, S], 10);
        // The recurrence written out, one token at a time (float64).
        const h = Float64Array.from(h0.data);
        const y = new Float32Array(T * E);
        const states = new Float32Array(T * E * S);
        for (let t = 0; t < T; t++) {
          for (let c = 0; c < E; c++) {
            let acc = 0;
            for (let n = 0; n < S; n++) {
              const i = c * S + n;
              h[i] = Math.exp(dt.data[t * E + c] * A[i]) * h[i] + dt.data[t * E + c] * B.data[t * S + n] * x.data[t * E + c];
              acc += C.data[t * S + n] * h[i];
              states[t * E * S + i] = h[i];
            }
            y[t * E + c] = acc + D[c] * x.data[t * E + c];
          }
        }
        const AD = new Float32Array(E * S + E);
        AD.set(A);
        AD.set(D, E * S);
        const gy = emptyGpu(rt, [T, E]);
        const gstates = emptyGpu(rt, [T, E, S]);
        const state = toGpu(rt, h0);
        const [gotY, gotStates, gotState] = await runPass(
          rt,
          (pass) =>
            encodeScan(
              pass,
              {
                x: toGpu(rt, x),
                dt: toGpu(rt, dt),
                AD: rt.upload(AD, 'AD'),
                B: toGpu(rt, B),
                C: toGpu(rt, C),
                state: state.buffer,
                zeroInit: false,
                y: gy,
                states: gstates,
              },
              rt.dummy,
            ),
          [gy, gstates, state],
        );
        expect(maxAbsDiff(gotY, y)).toBeLessThan(1e-5);
        expect(maxAbsDiff(gotStates, states)).toBeLessThan(1e-5);
        expect(maxAbsDiff(gotState, states.subarray((T - 1) * E * S))).toBeLessThan(1e-5);
        // From zero, against the CPU op.
        const zy = emptyGpu(rt, [T, E]);
        const zs = emptyGpu(rt, [E, S]);
        const args = { x: toGpu(rt, x), dt: toGpu(rt, dt), AD: rt.upload(AD, 'AD'), B: toGpu(rt, B), C: toGpu(rt, C) };
        const [gotZy] = await runPass(
          rt,
          (pass) => encodeScan(pass, { ...args, state: zs.buffer, zeroInit: true, y: zy, states: null }, rt.dummy),
          [zy],
        );
        expect(maxAbsDiff(gotZy, op.selectiveScan(x, dt, A, B, C, D, tensor([E, S])).y)).toBeLessThan(1e-5);
      }
    });
  });

  describe('gather and elementwise kernels', () => {
    it('gather (split embedding), copy-cols, add, swiglu, softplus+bias, gate', async () => {
      const rt = await gpuRuntime(profile);
      const [V, D, T, E] = [23, 9, 6, 11];
      const { weight, rounded } = weightOf('emb', [V, D], randomTensor([V, D], 1).data, 'BF16');
      const emb = uploadMatrix(rt, weight, 4 * D * 2 + 4); // 4 rows per chunk
      const ids = [22, 0, 5, 5, 13, 3];
      const gathered = emptyGpu(rt, [T + 2, D]);
      const src = randomTensor([T, 30], 2, 30);
      const cols = emptyGpu(rt, [T, E]);
      const a = randomTensor([T, E], 3);
      const b = randomTensor([T, E], 4);
      const sum = emptyGpu(rt, [T, E]);
      const g = toGpu(rt, a);
      const sp = toGpu(rt, src);
      const bias = randomTensor([30], 5).data;
      const y = toGpu(rt, b);
      const [gg, gc, gs, gw, gsp, gy] = await runPass(
        rt,
        (pass) => {
          encodeGather(pass, emb, uploadIds(rt, ids), T, gathered, 2);
          encodeCopyCols(pass, colsView(sp, 7), T, E, cols);
          encodeAdd(pass, toGpu(rt, a), toGpu(rt, b), sum, T * E);
          encodeSwiglu(pass, g, toGpu(rt, b), T * E);
          encodeSoftplusBias(pass, sp, rt.upload(bias, 'bias'), T, 30);
          encodeGate(pass, y, colsView(toGpu(rt, src), 3), T, E);
        },
        [gathered, cols, sum, g, sp, y],
      );
      ids.forEach((id, j) =>
        expect(Array.from(gg.data.subarray((j + 2) * D, (j + 3) * D))).toEqual(Array.from(rounded.subarray(id * D, (id + 1) * D))),
      );
      expect(maxAbsDiff(gc, sliceCols(src, 7, 7 + E))).toBe(0);
      expect(maxAbsDiff(gs, op.add(a, b))).toBe(0);
      expect(
        maxAbsDiff(
          gw,
          tensor(
            [T, E],
            a.data.map((v, i) => op.silu(v) * b.data[i]),
          ),
        ),
      ).toBeLessThan(1e-6);
      // src spans ±30, so both softplus shortcuts (x > 20 and very negative x) are exercised
      const wantSp = src.data.map((v, i) => op.softplus(v + bias[i % 30]));
      for (let i = 0; i < wantSp.length; i++)
        expect(Math.abs(gsp.data[i] - wantSp[i])).toBeLessThanOrEqual(2e-6 * Math.max(1, Math.abs(wantSp[i])));
      const z = sliceCols(src, 3, 3 + E);
      expect(
        maxAbsDiff(
          gy,
          tensor(
            [T, E],
            b.data.map((v, i) => v * op.silu(z.data[i])),
          ),
        ),
      ).toBeLessThan(1e-5);
    });
  });
});

describe('decode argmax kernel (greedy sampling on the GPU)', () => {
  it('matches argmax for vocabularies around its 4096-entry batches, ties to the lowest id', async () => {
    const rt = await gpuRuntime();
    for (const [i, V] of [1, 255, 4096, 4097, 9000, 32001].entries()) {
      const logits = randomTensor([V], 40 + i).data;
      if (V > 300) for (const k of [V - 1, 257, 4095]) if (k < V) logits[k] = 5; // tied maximum: the lowest id wins
      const token = emptyGpu(rt, [1]);
      const results = emptyGpu(rt, [4]);
      const [t, r] = await runPass(
        rt,
        (pass) => pass.dispatch(argmaxKernel, [V, 2], [rt.upload(logits, 'logits'), token.buffer, results.buffer], [1]),
        [token, results],
      );
      const want = argmax(logits);
      expect(new Uint32Array(t.data.buffer, t.data.byteOffset, 1)[0], `V=${V}`).toBe(want);
      expect(new Uint32Array(r.data.buffer, r.data.byteOffset, 4)[2], `V=${V}`).toBe(want);
      if (V > 300) expect(want).toBe(257);
    }
  });
});
