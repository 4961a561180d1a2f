// The float64 CPU reference for training: every op of the Hymba block as a forward and a backward function,
// and the whole model's loss and gradients composed from them. Plain loops over Float64Arrays, one sequence at a
// time; slow, exact, readable. It is the oracle the WGSL training kernels are tested against, and it is itself
// tested against central finite differences (test/grad-reference.test.ts).
//
// Layout: a [T, C] matrix is row t at data[t*C .. t*C+C). The forward functions compute exactly what
// engine/cpu/ops.ts computes (same formulas, float64 instead of float32 storage).

import { ropeBase, type HymbaConfig } from '../config.ts';
import { ropeInvFreq } from '../cpu/ops.ts';
import type { ParamLayout } from './params.ts';

export type Vec = Float64Array;

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
const silu = (v: number): number => v * sigmoid(v);
const dsilu = (v: number): number => {
  const s = sigmoid(v);
  return s * (1 + v * (1 - s));
};
const softplus = (v: number): number => (v > 20 ? v : Math.log1p(Math.exp(v)));
const dsoftplus = (v: number): number => (v > 20 ? 1 : sigmoid(v));

// ---------- RMSNorm: y = scale · w ⊙ x / sqrt(mean(x²) + eps) ----------

export function rmsnormForward(x: Vec, T: number, C: number, w: Vec, eps: number, scale = 1): { y: Vec; rinv: Vec } {
  const y = new Float64Array(T * C);
  const rinv = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[t * C + c] ** 2;
    rinv[t] = 1 / Math.sqrt(ss / C + eps);
    for (let c = 0; c < C; c++) y[t * C + c] = scale * w[c] * x[t * C + c] * rinv[t];
  }
  return { y, rinv };
}

export function rmsnormBackward(gy: Vec, x: Vec, rinv: Vec, T: number, C: number, w: Vec, scale = 1): { gx: Vec; gw: Vec } {
  const gx = new Float64Array(T * C);
  const gw = new Float64Array(C);
  for (let t = 0; t < T; t++) {
    const r = rinv[t];
    let dot = 0;
    for (let c = 0; c < C; c++) dot += scale * gy[t * C + c] * w[c] * x[t * C + c];
    for (let c = 0; c < C; c++) {
      const i = t * C + c;
      gx[i] = r * scale * gy[i] * w[c] - (x[i] * r ** 3 * dot) / C;
      gw[c] += scale * gy[i] * x[i] * r;
    }
  }
  return { gx, gw };
}

// ---------- Linear: y = x · Wᵀ, W [O, I] ----------

export function linearForward(x: Vec, T: number, I: number, W: Vec, O: number): Vec {
  const y = new Float64Array(T * O);
  for (let t = 0; t < T; t++)
    for (let o = 0; o < O; o++) {
      let s = 0;
      for (let i = 0; i < I; i++) s += x[t * I + i] * W[o * I + i];
      y[t * O + o] = s;
    }
  return y;
}

export function linearBackward(gy: Vec, x: Vec, T: number, I: number, W: Vec, O: number): { gx: Vec; gW: Vec } {
  const gx = new Float64Array(T * I);
  const gW = new Float64Array(O * I);
  for (let t = 0; t < T; t++)
    for (let o = 0; o < O; o++) {
      const g = gy[t * O + o];
      for (let i = 0; i < I; i++) {
        gx[t * I + i] += g * W[o * I + i];
        gW[o * I + i] += g * x[t * I + i];
      }
    }
  return { gx, gW };
}

// ---------- RoPE (rotate-half layout); position = row index. Backward = rotation by −θ. ----------

export interface RopeTable {
  cos: Vec;
  sin: Vec;
  half: number;
}

/** cos/sin of θ = fround(pos · invFreq[j]), as engine/cpu/ops.ts computes them. */
export function ropeTable(config: HymbaConfig, positions: number): RopeTable {
  const inv = ropeInvFreq(config.qkHeadDim, ropeBase(config));
  const half = config.qkHeadDim / 2;
  const cos = new Float64Array(positions * half);
  const sin = new Float64Array(positions * half);
  for (let t = 0; t < positions; t++)
    for (let j = 0; j < half; j++) {
      const theta = Math.fround(t * inv[j]);
      cos[t * half + j] = Math.cos(theta);
      sin[t * half + j] = Math.sin(theta);
    }
  return { cos, sin, half };
}

export function ropeApply(x: Vec, T: number, heads: number, table: RopeTable, inverse = false): Vec {
  const { half } = table;
  const d = 2 * half;
  const C = heads * d;
  const out = new Float64Array(x.length);
  const sign = inverse ? -1 : 1;
  for (let t = 0; t < T; t++)
    for (let h = 0; h < heads; h++)
      for (let j = 0; j < half; j++) {
        const c = table.cos[t * half + j];
        const s = sign * table.sin[t * half + j];
        const o = t * C + h * d;
        const a = x[o + j];
        const b = x[o + j + half];
        out[o + j] = a * c - b * s;
        out[o + j + half] = b * c + a * s;
      }
  return out;
}

// ---------- Attention with GQA, causal / sliding window + meta tokens ----------

export interface AttnDims {
  T: number;
  heads: number;
  kvHeads: number;
  dqk: number;
  dv: number;
  /** null = global; else keys with q − k ≤ window or k < numMeta are visible. */
  window: number | null;
  numMeta: number;
}

export function visible(q: number, k: number, d: AttnDims): boolean {
  if (k > q) return false;
  return d.window === null || q - k <= d.window || k < d.numMeta;
}

export function attentionForward(q: Vec, k: Vec, v: Vec, d: AttnDims): { out: Vec; probs: Vec } {
  const { T, heads: H, kvHeads: Hkv, dqk, dv } = d;
  const group = H / Hkv;
  const scale = 1 / Math.sqrt(dqk);
  const out = new Float64Array(T * H * dv);
  const probs = new Float64Array(H * T * T);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / group);
    for (let t = 0; t < T; t++) {
      const p = probs.subarray((h * T + t) * T, (h * T + t + 1) * T);
      let max = -Infinity;
      for (let s = 0; s <= t; s++) {
        if (!visible(t, s, d)) continue;
        let dot = 0;
        for (let i = 0; i < dqk; i++) dot += q[t * H * dqk + h * dqk + i] * k[s * Hkv * dqk + g * dqk + i];
        p[s] = dot * scale;
        max = Math.max(max, p[s]);
      }
      let sum = 0;
      for (let s = 0; s <= t; s++) {
        p[s] = visible(t, s, d) ? Math.exp(p[s] - max) : 0;
        sum += p[s];
      }
      for (let s = 0; s <= t; s++) p[s] /= sum;
      for (let e = 0; e < dv; e++) {
        let acc = 0;
        for (let s = 0; s <= t; s++) acc += p[s] * v[s * Hkv * dv + g * dv + e];
        out[t * H * dv + h * dv + e] = acc;
      }
    }
  }
  return { out, probs };
}

export function attentionBackward(gout: Vec, q: Vec, k: Vec, v: Vec, probs: Vec, d: AttnDims): { gq: Vec; gk: Vec; gv: Vec } {
  const { T, heads: H, kvHeads: Hkv, dqk, dv } = d;
  const group = H / Hkv;
  const scale = 1 / Math.sqrt(dqk);
  const gq = new Float64Array(q.length);
  const gk = new Float64Array(k.length);
  const gv = new Float64Array(v.length);
  const gp = new Float64Array(T);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / group);
    for (let t = 0; t < T; t++) {
      const p = probs.subarray((h * T + t) * T, (h * T + t + 1) * T);
      let dot = 0;
      for (let s = 0; s <= t; s++) {
        let acc = 0;
        for (let e = 0; e < dv; e++) {
          acc += gout[t * H * dv + h * dv + e] * v[s * Hkv * dv + g * dv + e];
          gv[s * Hkv * dv + g * dv + e] += p[s] * gout[t * H * dv + h * dv + e];
        }
        gp[s] = acc;
        dot += p[s] * acc;
      }
      for (let s = 0; s <= t; s++) {
        const gs = p[s] * (gp[s] - dot) * scale; // softmax backward, then the 1/sqrt(d) scale
        if (gs === 0) continue;
        for (let i = 0; i < dqk; i++) {
          gq[t * H * dqk + h * dqk + i] += gs * k[s * Hkv * dqk + g * dqk + i];
          gk[s * Hkv * dqk + g * dqk + i] += gs * q[t * H * dqk + h * dqk + i];
        }
      }
    }
  }
  return { gq, gk, gv };
}

// ---------- Causal depthwise conv: y[t, c] = Σ_j w[c, j] · x[t − K + 1 + j, c] (lab_qkv_conv over Q/K/V) ----------

export function depthwiseConvForward(x: Vec, T: number, C: number, w: Vec, K: number): Vec {
  const y = new Float64Array(T * C);
  for (let t = 0; t < T; t++)
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let j = 0; j < K; j++) if (t - K + 1 + j >= 0) s += w[c * K + j] * x[(t - K + 1 + j) * C + c];
      y[t * C + c] = s;
    }
  return y;
}

export function depthwiseConvBackward(gy: Vec, x: Vec, T: number, C: number, w: Vec, K: number): { gx: Vec; gw: Vec } {
  const gx = new Float64Array(T * C);
  const gw = new Float64Array(C * K);
  for (let t = 0; t < T; t++)
    for (let c = 0; c < C; c++)
      for (let j = 0; j < K; j++) {
        const src = t - K + 1 + j;
        if (src < 0) continue;
        gw[c * K + j] += gy[t * C + c] * x[src * C + c];
        gx[src * C + c] += gy[t * C + c] * w[c * K + j];
      }
  return { gx, gw };
}

// ---------- The SSM's causal conv1d: the depthwise conv above, + bias, then SiLU ----------

export function convForward(x: Vec, T: number, E: number, w: Vec, b: Vec | null, K: number): { y: Vec; pre: Vec } {
  const pre = depthwiseConvForward(x, T, E, w, K);
  if (b) for (let i = 0; i < T * E; i++) pre[i] += b[i % E];
  return { y: pre.map(silu), pre };
}

export function convBackward(gy: Vec, x: Vec, pre: Vec, T: number, E: number, w: Vec, K: number): { gx: Vec; gw: Vec; gb: Vec } {
  const gpre = new Float64Array(T * E);
  const gb = new Float64Array(E);
  for (let i = 0; i < T * E; i++) {
    gpre[i] = gy[i] * dsilu(pre[i]);
    gb[i % E] += gpre[i];
  }
  return { ...depthwiseConvBackward(gpre, x, T, E, w, K), gb };
}

// ---------- Δ = softplus(u + bias) ----------

export function softplusForward(u: Vec, T: number, E: number, bias: Vec): Vec {
  const dt = new Float64Array(T * E);
  for (let i = 0; i < T * E; i++) dt[i] = softplus(u[i] + bias[i % E]);
  return dt;
}

export function softplusBackward(gdt: Vec, u: Vec, T: number, E: number, bias: Vec): { gu: Vec; gbias: Vec } {
  const gu = new Float64Array(T * E);
  const gbias = new Float64Array(E);
  for (let i = 0; i < T * E; i++) {
    gu[i] = gdt[i] * dsoftplus(u[i] + bias[i % E]);
    gbias[i % E] += gu[i];
  }
  return { gu, gbias };
}

// ---------- Selective scan (Mamba-1), A = −exp(A_log) ----------
//   h_t = exp(Δ_t·A) ⊙ h_{t−1} + Δ_t·B_t·x_t ;  y_t = Σ_n C_t[n]·h_t[·,n] + D ⊙ x_t

export interface ScanInputs {
  x: Vec;
  dt: Vec;
  B: Vec;
  C: Vec;
  Alog: Vec;
  D: Vec;
  T: number;
  E: number;
  S: number;
}

export function scanForward(a: ScanInputs): { y: Vec; states: Vec } {
  const { x, dt, B, C, Alog, D, T, E, S } = a;
  const y = new Float64Array(T * E);
  const states = new Float64Array(T * E * S);
  const h = new Float64Array(E * S);
  for (let t = 0; t < T; t++)
    for (let c = 0; c < E; c++) {
      const d = dt[t * E + c];
      const xv = x[t * E + c];
      let acc = D[c] * xv;
      for (let n = 0; n < S; n++) {
        const i = c * S + n;
        h[i] = Math.exp(-d * Math.exp(Alog[i])) * h[i] + d * B[t * S + n] * xv;
        states[t * E * S + i] = h[i];
        acc += C[t * S + n] * h[i];
      }
      y[t * E + c] = acc;
    }
  return { y, states };
}

export function scanBackward(gy: Vec, a: ScanInputs, states: Vec): { gx: Vec; gdt: Vec; gB: Vec; gC: Vec; gAlog: Vec; gD: Vec } {
  const { x, dt, B, C, Alog, D, T, E, S } = a;
  const gx = new Float64Array(T * E);
  const gdt = new Float64Array(T * E);
  const gB = new Float64Array(T * S);
  const gC = new Float64Array(T * S);
  const gAlog = new Float64Array(E * S);
  const gD = new Float64Array(E);
  const gh = new Float64Array(E * S); // ∂L/∂h_t flowing back from the future
  for (let t = T - 1; t >= 0; t--)
    for (let c = 0; c < E; c++) {
      const d = dt[t * E + c];
      const xv = x[t * E + c];
      const g = gy[t * E + c];
      gx[t * E + c] += g * D[c];
      gD[c] += g * xv;
      for (let n = 0; n < S; n++) {
        const i = c * S + n;
        const A = -Math.exp(Alog[i]);
        const decay = Math.exp(d * A);
        const hPrev = t > 0 ? states[(t - 1) * E * S + i] : 0;
        gC[t * S + n] += g * states[t * E * S + i];
        const ght = gh[i] + g * C[t * S + n];
        // through decay = exp(Δ·A): ∂/∂Δ = A·decay·h_{t−1}, ∂/∂A_log = Δ·A·decay·h_{t−1}
        const gDecay = ght * hPrev;
        gdt[t * E + c] += gDecay * decay * A + ght * B[t * S + n] * xv;
        gAlog[i] += gDecay * decay * d * A;
        gB[t * S + n] += ght * d * xv;
        gx[t * E + c] += ght * d * B[t * S + n];
        gh[i] = ght * decay;
      }
    }
  return { gx, gdt, gB, gC, gAlog, gD };
}

// ---------- Gates ----------

/** SSM output gate: y ⊙ SiLU(z). */
export function gateForward(y: Vec, z: Vec): Vec {
  return y.map((v, i) => v * silu(z[i]));
}
export function gateBackward(g: Vec, y: Vec, z: Vec): { gy: Vec; gz: Vec } {
  return { gy: g.map((v, i) => v * silu(z[i])), gz: g.map((v, i) => v * y[i] * dsilu(z[i])) };
}

/** SwiGLU activation SiLU(gate) ⊙ up, with gate and up side by side in one [T, 2F] matrix. */
export function swigluForward(gu: Vec, T: number, F: number): Vec {
  const a = new Float64Array(T * F);
  for (let t = 0; t < T; t++) for (let f = 0; f < F; f++) a[t * F + f] = silu(gu[t * 2 * F + f]) * gu[t * 2 * F + F + f];
  return a;
}
export function swigluBackward(g: Vec, gu: Vec, T: number, F: number): Vec {
  const out = new Float64Array(T * 2 * F);
  for (let t = 0; t < T; t++)
    for (let f = 0; f < F; f++) {
      const gate = gu[t * 2 * F + f];
      const up = gu[t * 2 * F + F + f];
      out[t * 2 * F + f] = g[t * F + f] * up * dsilu(gate);
      out[t * 2 * F + F + f] = g[t * F + f] * silu(gate);
    }
  return out;
}

// ---------- Cross-entropy over chosen rows: returns the loss SUM and ∂(sum)/∂logits ----------

export function crossEntropy(logits: Vec, rows: number, V: number, labels: ArrayLike<number>): { loss: number; glogits: Vec } {
  const g = new Float64Array(rows * V);
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[r * V + v]);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[r * V + v] - max);
    loss += Math.log(sum) + max - logits[r * V + labels[r]];
    for (let v = 0; v < V; v++) g[r * V + v] = Math.exp(logits[r * V + v] - max) / sum - (v === labels[r] ? 1 : 0);
  }
  return { loss, glogits: g };
}

// ---------- Helpers ----------

export function cols(m: Vec, T: number, C: number, c0: number, c1: number): Vec {
  const w = c1 - c0;
  const out = new Float64Array(T * w);
  for (let t = 0; t < T; t++) for (let c = 0; c < w; c++) out[t * w + c] = m[t * C + c0 + c];
  return out;
}
export function addCols(dst: Vec, T: number, C: number, c0: number, src: Vec, w: number): void {
  for (let t = 0; t < T; t++) for (let c = 0; c < w; c++) dst[t * C + c0 + c] += src[t * w + c];
}
function addInto(dst: Vec, src: Vec): void {
  for (let i = 0; i < dst.length; i++) dst[i] += src[i];
}

// ---------- The whole model on one batch ----------

export interface RefBatch {
  /** Token ids per sequence (all the same length). */
  ids: ArrayLike<number>[];
  /** targets[b][t] = label at text position t, −1 = no loss. */
  targets: ArrayLike<number>[];
}

/** Accessors into flat parameter (and gradient) arrays by official name. */
function tensors(layout: ParamLayout, flat: Vec) {
  return (name: string): Vec => {
    const e = layout.byName.get(name);
    if (!e) throw new Error(`parameter ${name} is not in this model`);
    return flat.subarray(e.offset, e.offset + e.size);
  };
}

/**
 * Mean cross-entropy over all target positions of the batch, and (when `grads` is given) its gradient with respect
 * to every parameter, accumulated into `grads` (a flat array in the same layout as `params`).
 */
export function referenceLossAndGrads(config: HymbaConfig, layout: ParamLayout, params: Vec, batch: RefBatch, grads?: Vec): number {
  let count = 0;
  for (const t of batch.targets) for (let i = 0; i < t.length; i++) if (t[i] >= 0) count++;
  if (count === 0) throw new Error('referenceLossAndGrads: the batch has no target positions');
  let loss = 0;
  for (let b = 0; b < batch.ids.length; b++) loss += sequence(config, layout, params, batch.ids[b], batch.targets[b], count, grads);
  return loss / count;
}

/** Loss sum of one sequence; gradients of (loss sum / count) accumulated into grads. */
function sequence(
  config: HymbaConfig,
  layout: ParamLayout,
  params: Vec,
  ids: ArrayLike<number>,
  targets: ArrayLike<number>,
  count: number,
  grads?: Vec,
): number {
  const P = tensors(layout, params);
  const G = grads ? tensors(layout, grads) : null;
  const M = config.numMetaTokens;
  const n = ids.length;
  const T = M + n;
  const D = config.hiddenSize;
  const E = config.dInner;
  const S = config.dState;
  const R = config.dtRank;
  const K = config.dConv;
  const F = config.intermediateSize;
  const eps = config.rmsNormEps;
  const table = ropeTable(config, T);

  // Embedding: [meta ; embed_tokens[ids]].
  const emb = P('model.embed_tokens.weight');
  let x: Vec = new Float64Array(T * D);
  if (M > 0) x.set(P('model.memory_tokens'));
  for (let j = 0; j < n; j++) x.set(emb.subarray(ids[j] * D, (ids[j] + 1) * D), (M + j) * D);

  type Saved = Record<string, Vec | AttnDims | { y: Vec; rinv: Vec }>;
  const saved: Saved[] = [];
  const kv = new Map<number, { k: Vec; v: Vec; gk: Vec; gv: Vec }>();
  for (const l of config.layers) {
    const w = (s: string) => P(`model.layers.${l.index}.${s}`);
    const s: Saved = { xin: x };
    const n1 = rmsnormForward(x, T, D, w('input_layernorm.weight'), eps);
    s.n1 = n1;
    let Pm = linearForward(n1.y, T, D, w('mamba.in_proj.weight'), l.rows.total);
    if (l.qkvConv > 0) {
      // Q/K/V columns through their short conv (the SSM columns stay as projected).
      const C = l.qkvColumns;
      const raw = cols(Pm, T, l.rows.total, 0, C);
      s.qkvRaw = raw;
      const conv = depthwiseConvForward(raw, T, C, w('mamba.qkv_conv.weight'), l.qkvConv);
      Pm = Pm.slice();
      for (let t = 0; t < T; t++) Pm.set(conv.subarray(t * C, (t + 1) * C), t * l.rows.total);
    }
    s.P = Pm;
    const branches: Vec[] = [];
    const nb = (l.hasAttention ? 1 : 0) + (l.hasSsm ? 1 : 0);
    if (l.hasAttention) {
      const q = ropeApply(cols(Pm, T, l.rows.total, ...l.rows.q!), T, l.numHeads, table);
      if (l.ownsKv) {
        const k = ropeApply(cols(Pm, T, l.rows.total, ...l.rows.k!), T, config.numKvHeads, table);
        const v = cols(Pm, T, l.rows.total, ...l.rows.v!);
        kv.set(l.index, { k, v, gk: new Float64Array(k.length), gv: new Float64Array(v.length) });
      }
      const src = kv.get(l.kvSource)!;
      const dims: AttnDims = {
        T,
        heads: l.numHeads,
        kvHeads: config.numKvHeads,
        dqk: config.qkHeadDim,
        dv: l.vHeadDim,
        window: l.global ? null : config.slidingWindow,
        numMeta: M,
      };
      const at = attentionForward(q, src.k, src.v, dims);
      Object.assign(s, { q, dims, attn: at.out, probs: at.probs });
      const f1 = rmsnormForward(at.out, T, E, w('mamba.pre_avg_layernorm1.weight'), eps, 1 / nb);
      s.f1 = f1;
      branches.push(f1.y);
    }
    if (l.hasSsm) {
      const xs = cols(Pm, T, l.rows.total, ...l.rows.x!);
      const z = cols(Pm, T, l.rows.total, ...l.rows.z!);
      const conv = convForward(xs, T, E, w('mamba.conv1d.weight'), config.convBias ? w('mamba.conv1d.bias') : null, K);
      const sp = linearForward(conv.y, T, E, w('mamba.x_proj.0.weight'), R + 2 * S);
      const dtn = rmsnormForward(cols(sp, T, R + 2 * S, 0, R), T, R, w('mamba.dt_layernorm.weight'), eps);
      const Bn = rmsnormForward(cols(sp, T, R + 2 * S, R, R + S), T, S, w('mamba.B_layernorm.weight'), eps);
      const Cn = rmsnormForward(cols(sp, T, R + 2 * S, R + S, R + 2 * S), T, S, w('mamba.C_layernorm.weight'), eps);
      const u = linearForward(dtn.y, T, R, w('mamba.dt_proj.0.weight'), E);
      const dt = softplusForward(u, T, E, w('mamba.dt_proj.0.bias'));
      const si: ScanInputs = { x: conv.y, dt, B: Bn.y, C: Cn.y, Alog: w('mamba.A_log.0'), D: w('mamba.D.0'), T, E, S };
      const scan = scanForward(si);
      const y = gateForward(scan.y, z);
      const f2 = rmsnormForward(y, T, E, w('mamba.pre_avg_layernorm2.weight'), eps, 1 / nb);
      Object.assign(s, { xs, z, conv: conv.y, pre: conv.pre, sp, dtn, Bn, Cn, u, dt, scanY: scan.y, states: scan.states, ssmY: y, f2 });
      branches.push(f2.y);
    }
    const m = new Float64Array(T * E);
    for (const br of branches) addInto(m, br);
    s.m = m;
    const xmid = linearForward(m, T, E, w('mamba.out_proj.weight'), D);
    addInto(xmid, x);
    s.xmid = xmid;
    const n2 = rmsnormForward(xmid, T, D, w('pre_moe_layernorm.weight'), eps);
    s.n2 = n2;
    const gu = new Float64Array(T * 2 * F);
    const gate = linearForward(n2.y, T, D, w('moe.experts.0.gate_proj.weight'), F);
    const up = linearForward(n2.y, T, D, w('moe.experts.0.up_proj.weight'), F);
    for (let t = 0; t < T; t++) {
      gu.set(gate.subarray(t * F, (t + 1) * F), t * 2 * F);
      gu.set(up.subarray(t * F, (t + 1) * F), t * 2 * F + F);
    }
    s.gu = gu;
    const act = swigluForward(gu, T, F);
    s.act = act;
    const out = linearForward(act, T, F, w('moe.experts.0.down_proj.weight'), D);
    addInto(out, xmid);
    saved.push(s);
    x = out;
  }
  const fin = rmsnormForward(x, T, D, P('model.final_layernorm.weight'), eps);
  const rows: number[] = [];
  const labels: number[] = [];
  for (let j = 0; j < n; j++) {
    if (targets[j] < 0) continue;
    rows.push(M + j);
    labels.push(targets[j]);
  }
  const hsel = new Float64Array(rows.length * D);
  rows.forEach((r, i) => hsel.set(fin.y.subarray(r * D, (r + 1) * D), i * D));
  const V = config.vocabSize;
  const logits = linearForward(hsel, rows.length, D, emb, V);
  const ce = crossEntropy(logits, rows.length, V, labels);
  if (!G) return ce.loss;

  // ---------------- backward ----------------
  for (let i = 0; i < ce.glogits.length; i++) ce.glogits[i] /= count;
  const head = linearBackward(ce.glogits, hsel, rows.length, D, emb, V);
  addInto(G('model.embed_tokens.weight'), head.gW);
  const gfin = new Float64Array(T * D);
  rows.forEach((r, i) => gfin.set(head.gx.subarray(i * D, (i + 1) * D), r * D));
  const fb = rmsnormBackward(gfin, x, fin.rinv, T, D, P('model.final_layernorm.weight'));
  addInto(G('model.final_layernorm.weight'), fb.gw);
  let g = fb.gx; // ∂L/∂(output of the current layer)
  for (let li = config.numLayers - 1; li >= 0; li--) {
    const l = config.layers[li];
    const s = saved[li];
    const w = (n: string) => P(`model.layers.${l.index}.${n}`);
    const gw = (n: string) => G(`model.layers.${l.index}.${n}`);
    const V_ = (k: string) => s[k] as Vec;
    const N_ = (k: string) => s[k] as { y: Vec; rinv: Vec };
    // MLP
    const down = linearBackward(g, V_('act'), T, F, w('moe.experts.0.down_proj.weight'), D);
    addInto(gw('moe.experts.0.down_proj.weight'), down.gW);
    const ggu = swigluBackward(down.gx, V_('gu'), T, F);
    const ggate = cols(ggu, T, 2 * F, 0, F);
    const gup = cols(ggu, T, 2 * F, F, 2 * F);
    const bg = linearBackward(ggate, N_('n2').y, T, D, w('moe.experts.0.gate_proj.weight'), F);
    const bu = linearBackward(gup, N_('n2').y, T, D, w('moe.experts.0.up_proj.weight'), F);
    addInto(gw('moe.experts.0.gate_proj.weight'), bg.gW);
    addInto(gw('moe.experts.0.up_proj.weight'), bu.gW);
    addInto(bg.gx, bu.gx);
    const n2b = rmsnormBackward(bg.gx, V_('xmid'), N_('n2').rinv, T, D, w('pre_moe_layernorm.weight'));
    addInto(gw('pre_moe_layernorm.weight'), n2b.gw);
    const gmid = g.slice();
    addInto(gmid, n2b.gx);
    // Mixer
    const ob = linearBackward(gmid, V_('m'), T, E, w('mamba.out_proj.weight'), D);
    addInto(gw('mamba.out_proj.weight'), ob.gW);
    const nb = (l.hasAttention ? 1 : 0) + (l.hasSsm ? 1 : 0);
    const gP = new Float64Array(T * l.rows.total);
    if (l.hasSsm) {
      const f2b = rmsnormBackward(ob.gx, V_('ssmY'), N_('f2').rinv, T, E, w('mamba.pre_avg_layernorm2.weight'), 1 / nb);
      addInto(gw('mamba.pre_avg_layernorm2.weight'), f2b.gw);
      const gb = gateBackward(f2b.gx, V_('scanY'), V_('z'));
      addCols(gP, T, l.rows.total, l.rows.z![0], gb.gz, E);
      const si: ScanInputs = {
        x: V_('conv'),
        dt: V_('dt'),
        B: N_('Bn').y,
        C: N_('Cn').y,
        Alog: w('mamba.A_log.0'),
        D: w('mamba.D.0'),
        T,
        E,
        S,
      };
      const sb = scanBackward(gb.gy, si, V_('states'));
      addInto(gw('mamba.A_log.0'), sb.gAlog);
      addInto(gw('mamba.D.0'), sb.gD);
      const spb = softplusBackward(sb.gdt, V_('u'), T, E, w('mamba.dt_proj.0.bias'));
      addInto(gw('mamba.dt_proj.0.bias'), spb.gbias);
      const dtpb = linearBackward(spb.gu, N_('dtn').y, T, R, w('mamba.dt_proj.0.weight'), E);
      addInto(gw('mamba.dt_proj.0.weight'), dtpb.gW);
      const sp = V_('sp');
      const W3 = R + 2 * S;
      const dtnb = rmsnormBackward(dtpb.gx, cols(sp, T, W3, 0, R), N_('dtn').rinv, T, R, w('mamba.dt_layernorm.weight'));
      const Bnb = rmsnormBackward(sb.gB, cols(sp, T, W3, R, R + S), N_('Bn').rinv, T, S, w('mamba.B_layernorm.weight'));
      const Cnb = rmsnormBackward(sb.gC, cols(sp, T, W3, R + S, W3), N_('Cn').rinv, T, S, w('mamba.C_layernorm.weight'));
      addInto(gw('mamba.dt_layernorm.weight'), dtnb.gw);
      addInto(gw('mamba.B_layernorm.weight'), Bnb.gw);
      addInto(gw('mamba.C_layernorm.weight'), Cnb.gw);
      const gsp = new Float64Array(T * W3);
      addCols(gsp, T, W3, 0, dtnb.gx, R);
      addCols(gsp, T, W3, R, Bnb.gx, S);
      addCols(gsp, T, W3, R + S, Cnb.gx, S);
      const xpb = linearBackward(gsp, V_('conv'), T, E, w('mamba.x_proj.0.weight'), W3);
      addInto(gw('mamba.x_proj.0.weight'), xpb.gW);
      const gconv = xpb.gx;
      addInto(gconv, sb.gx);
      const cb = convBackward(gconv, V_('xs'), V_('pre'), T, E, w('mamba.conv1d.weight'), K);
      addInto(gw('mamba.conv1d.weight'), cb.gw);
      if (config.convBias) addInto(gw('mamba.conv1d.bias'), cb.gb);
      addCols(gP, T, l.rows.total, l.rows.x![0], cb.gx, E);
    }
    if (l.hasAttention) {
      const f1b = rmsnormBackward(ob.gx, V_('attn'), N_('f1').rinv, T, E, w('mamba.pre_avg_layernorm1.weight'), 1 / nb);
      addInto(gw('mamba.pre_avg_layernorm1.weight'), f1b.gw);
      const src = kv.get(l.kvSource)!;
      const dims = s.dims as AttnDims;
      const ab = attentionBackward(f1b.gx, V_('q'), src.k, src.v, V_('probs'), dims);
      addInto(src.gk, ab.gk); // consumers' gradients flow into their producer's K/V
      addInto(src.gv, ab.gv);
      addCols(gP, T, l.rows.total, l.rows.q![0], ropeApply(ab.gq, T, l.numHeads, table, true), l.rows.q![1] - l.rows.q![0]);
      if (l.ownsKv) {
        // Every consumer comes later, so its backward already ran: src.gk/gv are complete here.
        addCols(gP, T, l.rows.total, l.rows.k![0], ropeApply(src.gk, T, config.numKvHeads, table, true), l.rows.k![1] - l.rows.k![0]);
        addCols(gP, T, l.rows.total, l.rows.v![0], src.gv, l.rows.v![1] - l.rows.v![0]);
      }
    }
    if (l.qkvConv > 0) {
      const C = l.qkvColumns;
      const cb = depthwiseConvBackward(cols(gP, T, l.rows.total, 0, C), V_('qkvRaw'), T, C, w('mamba.qkv_conv.weight'), l.qkvConv);
      addInto(gw('mamba.qkv_conv.weight'), cb.gw);
      for (let t = 0; t < T; t++) gP.set(cb.gx.subarray(t * C, (t + 1) * C), t * l.rows.total);
    }
    const ib = linearBackward(gP, N_('n1').y, T, D, w('mamba.in_proj.weight'), l.rows.total);
    addInto(gw('mamba.in_proj.weight'), ib.gW);
    const n1b = rmsnormBackward(ib.gx, V_('xin'), N_('n1').rinv, T, D, w('input_layernorm.weight'));
    addInto(gw('input_layernorm.weight'), n1b.gw);
    g = gmid;
    addInto(g, n1b.gx);
  }
  // Embedding and meta tokens.
  const gemb = G('model.embed_tokens.weight');
  for (let j = 0; j < n; j++) for (let d = 0; d < D; d++) gemb[ids[j] * D + d] += g[(M + j) * D + d];
  if (M > 0) addInto(G('model.memory_tokens'), g.subarray(0, M * D));
  return ce.loss;
}
