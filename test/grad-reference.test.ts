// The float64 training reference: each op's backward against central finite differences, the whole model's
// gradients against finite differences of its loss, and its loss against the CPU inference engine's logits.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../engine/config.ts';
import { Rng } from '../engine/tasks/rng.ts';
import * as ref from '../engine/train/reference.ts';
import { initParams, paramLayout, paramTensors } from '../engine/train/params.ts';
import { TINY_HYBRID, TINY_MIXED, TINY_QKV_CONV } from '../engine/train/tiny-configs.ts';
import { CpuEngine } from '../engine/cpu/forward.ts';
import { loadCheckpoint, memoryFiles } from '../engine/checkpoint/load.ts';
import { writeSafetensors } from '../engine/checkpoint/safetensors.ts';

const rand = (rng: Rng, n: number, s = 1) => Float64Array.from({ length: n }, () => rng.normal() * s);

/** Max relative error between an analytic gradient and central differences of f, over every input element. */
function fdCheck(f: () => number, x: Float64Array, analytic: Float64Array, h = 1e-6): number {
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const old = x[i];
    x[i] = old + h;
    const up = f();
    x[i] = old - h;
    const down = f();
    x[i] = old;
    const fd = (up - down) / (2 * h);
    worst = Math.max(worst, Math.abs(fd - analytic[i]) / Math.max(1e-3, Math.abs(fd) + Math.abs(analytic[i])));
  }
  return worst;
}

/** L = Σ r ⊙ out, so ∂L/∂out = r: the probe for every op. */
const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);

describe('float64 reference: each op against finite differences', () => {
  const rng = new Rng(1);
  const T = 7;

  it('RMSNorm (input and gain, with a branch scale)', () => {
    const C = 5;
    const x = rand(rng, T * C),
      w = rand(rng, C),
      r = rand(rng, T * C);
    const f = () => dot(ref.rmsnormForward(x, T, C, w, 1e-6, 0.5).y, r);
    const b = ref.rmsnormBackward(r, x, ref.rmsnormForward(x, T, C, w, 1e-6, 0.5).rinv, T, C, w, 0.5);
    expect(fdCheck(f, x, b.gx)).toBeLessThan(1e-6);
    expect(fdCheck(f, w, b.gw)).toBeLessThan(1e-6);
  });

  it('linear', () => {
    const I = 4,
      O = 3;
    const x = rand(rng, T * I),
      W = rand(rng, O * I),
      r = rand(rng, T * O);
    const f = () => dot(ref.linearForward(x, T, I, W, O), r);
    const b = ref.linearBackward(r, x, T, I, W, O);
    expect(fdCheck(f, x, b.gx)).toBeLessThan(1e-6);
    expect(fdCheck(f, W, b.gW)).toBeLessThan(1e-6);
  });

  it('RoPE (its backward is the inverse rotation)', () => {
    const config = parseConfig(TINY_HYBRID);
    const table = ref.ropeTable(config, T);
    const x = rand(rng, T * 2 * 4),
      r = rand(rng, T * 2 * 4);
    const f = () => dot(ref.ropeApply(x, T, 2, table), r);
    expect(fdCheck(f, x, ref.ropeApply(r, T, 2, table, true))).toBeLessThan(1e-6);
  });

  for (const window of [null, 2]) {
    it(`attention with GQA, ${window === null ? 'global' : 'sliding window 2 + 2 meta'}`, () => {
      const d: ref.AttnDims = { T, heads: 4, kvHeads: 2, dqk: 3, dv: 2, window, numMeta: window === null ? 0 : 2 };
      const q = rand(rng, T * 12),
        k = rand(rng, T * 6),
        v = rand(rng, T * 4),
        r = rand(rng, T * 8);
      const f = () => dot(ref.attentionForward(q, k, v, d).out, r);
      const b = ref.attentionBackward(r, q, k, v, ref.attentionForward(q, k, v, d).probs, d);
      expect(fdCheck(f, q, b.gq)).toBeLessThan(1e-6);
      expect(fdCheck(f, k, b.gk)).toBeLessThan(1e-6);
      expect(fdCheck(f, v, b.gv)).toBeLessThan(1e-6);
    });
  }

  it('causal depthwise conv + SiLU', () => {
    const E = 3,
      K = 4;
    const x = rand(rng, T * E),
      w = rand(rng, E * K),
      bias = rand(rng, E),
      r = rand(rng, T * E);
    const f = () => dot(ref.convForward(x, T, E, w, bias, K).y, r);
    const b = ref.convBackward(r, x, ref.convForward(x, T, E, w, bias, K).pre, T, E, w, K);
    expect(fdCheck(f, x, b.gx)).toBeLessThan(1e-6);
    expect(fdCheck(f, w, b.gw)).toBeLessThan(1e-6);
    expect(fdCheck(f, bias, b.gb)).toBeLessThan(1e-6);
  });

  it('causal depthwise conv without bias or activation (lab_qkv_conv)', () => {
    const C = 3,
      K = 2;
    const x = rand(rng, T * C),
      w = rand(rng, C * K),
      r = rand(rng, T * C);
    const f = () => dot(ref.depthwiseConvForward(x, T, C, w, K), r);
    const b = ref.depthwiseConvBackward(r, x, T, C, w, K);
    expect(fdCheck(f, x, b.gx)).toBeLessThan(1e-6);
    expect(fdCheck(f, w, b.gw)).toBeLessThan(1e-6);
  });

  it('softplus(u + bias)', () => {
    const E = 3;
    const u = rand(rng, T * E, 3),
      bias = rand(rng, E),
      r = rand(rng, T * E);
    const f = () => dot(ref.softplusForward(u, T, E, bias), r);
    const b = ref.softplusBackward(r, u, T, E, bias);
    expect(fdCheck(f, u, b.gu)).toBeLessThan(1e-6);
    expect(fdCheck(f, bias, b.gbias)).toBeLessThan(1e-6);
  });

  it('selective scan (every input: x, Δ, B, C, A_log, D)', () => {
    const E = 3,
      S = 4;
    const a: ref.ScanInputs = {
      x: rand(rng, T * E),
      dt: Float64Array.from({ length: T * E }, () => 0.05 + rng.uniform()),
      B: rand(rng, T * S),
      C: rand(rng, T * S),
      Alog: Float64Array.from({ length: E * S }, (_, i) => Math.log(1 + (i % S))),
      D: rand(rng, E),
      T,
      E,
      S,
    };
    const r = rand(rng, T * E);
    const f = () => dot(ref.scanForward(a).y, r);
    const b = ref.scanBackward(r, a, ref.scanForward(a).states);
    for (const [k, g] of [
      ['x', b.gx],
      ['dt', b.gdt],
      ['B', b.gB],
      ['C', b.gC],
      ['Alog', b.gAlog],
      ['D', b.gD],
    ] as const) {
      expect(fdCheck(f, a[k], g), k).toBeLessThan(1e-6);
    }
  });

  it('SSM gate and SwiGLU', () => {
    const y = rand(rng, T * 3),
      z = rand(rng, T * 3),
      r = rand(rng, T * 3);
    const fg = () => dot(ref.gateForward(y, z), r);
    const gb = ref.gateBackward(r, y, z);
    expect(fdCheck(fg, y, gb.gy)).toBeLessThan(1e-6);
    expect(fdCheck(fg, z, gb.gz)).toBeLessThan(1e-6);
    const gu = rand(rng, T * 6),
      r2 = rand(rng, T * 3);
    expect(fdCheck(() => dot(ref.swigluForward(gu, T, 3), r2), gu, ref.swigluBackward(r2, gu, T, 3))).toBeLessThan(1e-6);
  });

  it('cross-entropy', () => {
    const V = 5;
    const logits = rand(rng, 3 * V, 2);
    const labels = [1, 4, 0];
    const f = () => ref.crossEntropy(logits, 3, V, labels).loss;
    expect(fdCheck(f, logits, ref.crossEntropy(logits, 3, V, labels).glogits)).toBeLessThan(1e-6);
  });
});

function tinyBatch(vocab: number, seed: number) {
  const rng = new Rng(seed);
  const ids = [0, 1].map(() => Array.from({ length: 6 }, () => rng.int(0, vocab)));
  const targets = [
    [-1, 3, -1, 5, 2, -1],
    [4, -1, -1, -1, 7, 1],
  ];
  return { ids, targets };
}

describe('float64 reference: the whole model', () => {
  for (const [name, raw] of [
    ['hybrid + SWA + KV sharing + meta', TINY_HYBRID],
    ['attention / SSM / hybrid layers', TINY_MIXED],
    ['with the Q/K/V short conv (lab_qkv_conv)', TINY_QKV_CONV],
  ] as const) {
    it(`${name}: every parameter's gradient matches finite differences`, () => {
      const config = parseConfig(raw);
      const layout = paramLayout(config);
      const params = Float64Array.from(initParams(config, new Rng(3)));
      // Move the gains and meta tokens off their init so their gradients are generic.
      const rng = new Rng(9);
      for (let i = 0; i < params.length; i++) params[i] += 0.1 * rng.normal();
      const batch = tinyBatch(config.vocabSize, 5);
      const grads = new Float64Array(layout.total);
      ref.referenceLossAndGrads(config, layout, params, batch, grads);
      const f = () => ref.referenceLossAndGrads(config, layout, params, batch);
      for (const e of layout.entries) {
        const sub = params.subarray(e.offset, e.offset + e.size);
        expect(fdCheck(f, sub, grads.subarray(e.offset, e.offset + e.size), 1e-5), e.name).toBeLessThan(1e-5);
      }
    });
  }

  it('computes the same function as the CPU inference engine', async () => {
    const config = parseConfig(TINY_HYBRID);
    const layout = paramLayout(config);
    const flat = initParams(config, new Rng(4));
    const rng = new Rng(10);
    for (let i = 0; i < flat.length; i++) flat[i] += 0.3 * rng.normal();
    const ck = await loadCheckpoint(
      memoryFiles('tiny', {
        'config.json': JSON.stringify(TINY_HYBRID),
        'model.safetensors': writeSafetensors(paramTensors(layout, flat)),
      }),
    );
    const ids = [3, 1, 4, 1, 5, 9, 2, 6];
    const targets = [2, 7, 1, 8, 2, 8, 1, 8];
    const { logits } = await new CpuEngine(ck).forward(ids);
    const V = config.vocabSize;
    let loss = 0;
    for (let j = 0; j < ids.length; j++) {
      const row = Array.from(logits.data.subarray(j * V, (j + 1) * V));
      const max = Math.max(...row);
      loss += Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) + max - row[targets[j]];
    }
    const refLoss = ref.referenceLossAndGrads(config, layout, Float64Array.from(flat), { ids: [ids], targets: [targets] });
    expect(Math.abs(refLoss - loss / ids.length)).toBeLessThan(1e-5);
  });
});
