// The CPU reference: one small function per op of the Hymba forward pass, named as in hymba-spec.md §2.
// Plain loops over Float32Arrays with float64 accumulation, so they read like the math and serve as the oracle
// for the WGSL kernels. Layout: a [T, C] matrix is row t at data[t*C .. t*C+C).

import { tensor, type Tensor } from '../tensor.ts';

/** RMSNorm(x; w) = w ⊙ x / sqrt(mean(x²) + eps), over the last dim. `gain` may be null (plain normalisation). */
export function rmsnorm(x: Tensor, gain: Float32Array | null, eps: number): Tensor {
  const [T, C] = x.shape;
  const out = new Float32Array(T * C);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x.data[t * C + c] ** 2;
    const r = 1 / Math.sqrt(ss / C + eps);
    for (let c = 0; c < C; c++) out[t * C + c] = x.data[t * C + c] * r * (gain ? gain[c] : 1);
  }
  return tensor([T, C], out);
}

/** y = x · Wᵀ for an nn.Linear weight W [out, in] (rows [r0, r1) of W only, when given). */
export function linear(x: Tensor, W: Float32Array, outDim: number, inDim: number, r0 = 0, r1 = outDim): Tensor {
  const T = x.shape[0];
  if (x.shape[1] !== inDim) throw new Error(`linear: input has ${x.shape[1]} columns, weight expects ${inDim}`);
  const n = r1 - r0;
  const out = new Float32Array(T * n);
  for (let t = 0; t < T; t++) {
    const xo = t * inDim;
    for (let o = 0; o < n; o++) {
      const wo = (r0 + o) * inDim;
      let s = 0;
      for (let i = 0; i < inDim; i++) s += x.data[xo + i] * W[wo + i];
      out[t * n + o] = s;
    }
  }
  return tensor([T, n], out);
}

export const silu = (v: number): number => v / (1 + Math.exp(-v));
/** softplus with the Mamba kernels' shortcut: x > 20 → x. */
export const softplus = (v: number): number => (v > 20 ? v : Math.log1p(Math.exp(v)));

/** RoPE inverse frequencies for head dim d and base b (fp32 like the official code). */
export function ropeInvFreq(d: number, base: number): Float32Array {
  const f = new Float32Array(d / 2);
  for (let j = 0; j < d / 2; j++) f[j] = 1 / base ** ((2 * j) / d);
  return f;
}

/**
 * Rotary embedding in the rotate-half (NeoX) layout, per head: for j < d/2,
 * u'[j] = u[j]·cos − u[j+d/2]·sin, u'[j+d/2] = u[j+d/2]·cos + u[j]·sin, with θ = pos · invFreq[j] (fp32).
 */
export function rope(x: Tensor, positions: ArrayLike<number>, heads: number, d: number, invFreq: Float32Array): Tensor {
  const [T, C] = x.shape;
  const out = new Float32Array(x.data);
  const half = d / 2;
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < half; j++) {
      const theta = Math.fround(positions[t] * invFreq[j]);
      const c = Math.cos(theta);
      const s = Math.sin(theta);
      for (let h = 0; h < heads; h++) {
        const o = t * C + h * d;
        const a = x.data[o + j];
        const b = x.data[o + j + half];
        out[o + j] = a * c - b * s;
        out[o + j + half] = b * c + a * s;
      }
    }
  }
  return tensor([T, C], out);
}

/** Which keys a query may see: the causal mask, with a sliding window that always keeps the meta tokens. */
export interface MaskRule {
  /** null = global (causal only). Otherwise a key is visible when q − k ≤ window or k is a meta token. */
  window: number | null;
  /** Positions below this are meta tokens (always visible to later queries). */
  numMeta: number;
}

export function allowed(qPos: number, kPos: number, rule: MaskRule): boolean {
  if (kPos > qPos) return false;
  if (rule.window === null) return true;
  return qPos - kPos <= rule.window || kPos < rule.numMeta;
}

export interface AttentionResult {
  /** [Tq, H·dv], head-major. */
  out: Tensor;
  /** [H, Tq, Tk] softmax probabilities (0 where masked). */
  probs: Tensor;
}

/**
 * Scaled dot-product attention with GQA: query head h uses KV head floor(h / (H / Hkv)); scale 1/sqrt(dqk);
 * softmax over the visible keys.
 */
export function attention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  qPos: ArrayLike<number>,
  kPos: ArrayLike<number>,
  rule: MaskRule,
  dims: { heads: number; kvHeads: number; dqk: number; dv: number },
): AttentionResult {
  const { heads: H, kvHeads: Hkv, dqk, dv } = dims;
  const Tq = q.shape[0];
  const Tk = k.shape[0];
  const group = H / Hkv;
  const scale = 1 / Math.sqrt(dqk);
  const out = new Float32Array(Tq * H * dv);
  const probs = new Float32Array(H * Tq * Tk);
  const scores = new Float64Array(Tk);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / group);
    for (let t = 0; t < Tq; t++) {
      let max = -Infinity;
      for (let s = 0; s < Tk; s++) {
        if (!allowed(qPos[t], kPos[s], rule)) {
          scores[s] = -Infinity;
          continue;
        }
        let dot = 0;
        for (let i = 0; i < dqk; i++) dot += q.data[t * H * dqk + h * dqk + i] * k.data[s * Hkv * dqk + g * dqk + i];
        scores[s] = dot * scale;
        if (scores[s] > max) max = scores[s];
      }
      let sum = 0;
      for (let s = 0; s < Tk; s++) {
        const e = scores[s] === -Infinity ? 0 : Math.exp(scores[s] - max);
        scores[s] = e;
        sum += e;
      }
      const p = probs.subarray(h * Tq * Tk + t * Tk, h * Tq * Tk + (t + 1) * Tk);
      for (let s = 0; s < Tk; s++) p[s] = sum > 0 ? scores[s] / sum : 0;
      for (let e = 0; e < dv; e++) {
        let acc = 0;
        for (let s = 0; s < Tk; s++) if (p[s] !== 0) acc += p[s] * v.data[s * Hkv * dv + g * dv + e];
        out[t * H * dv + h * dv + e] = acc;
      }
    }
  }
  return { out: tensor([Tq, H * dv], out), probs: tensor([H, Tq, Tk], probs) };
}

/**
 * Depthwise causal conv1d + SiLU over [T, E]: xc_t[c] = SiLU(b[c] + Σ_j w[c,j] · xs_{t−K+1+j}[c]).
 * `state` [E, K−1] holds the K−1 inputs before this chunk (oldest first; zeros at the start of a sequence).
 * `activation: 'none'` drops the SiLU (the Q/K/V convolution of lab_qkv_conv is linear).
 * Returns the outputs and the new state (the last K−1 inputs).
 */
export function causalConv1d(
  xs: Tensor,
  w: Float32Array,
  bias: Float32Array | null,
  K: number,
  state: Tensor,
  activation: 'silu' | 'none' = 'silu',
): { out: Tensor; state: Tensor } {
  const [T, E] = xs.shape;
  const out = new Float32Array(T * E);
  const past = K - 1;
  // input at relative time τ ∈ [−past, T): from the state for τ < 0
  const input = (tau: number, c: number): number => (tau < 0 ? state.data[c * past + (past + tau)] : xs.data[tau * E + c]);
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < E; c++) {
      let s = bias ? bias[c] : 0;
      for (let j = 0; j < K; j++) s += w[c * K + j] * input(t - K + 1 + j, c);
      out[t * E + c] = activation === 'silu' ? silu(s) : s;
    }
  }
  const next = new Float32Array(E * past);
  for (let c = 0; c < E; c++) for (let j = 0; j < past; j++) next[c * past + j] = input(T - past + j, c);
  return { out: tensor([T, E], out), state: tensor([E, past], next) };
}

/**
 * The Mamba-1 selective scan with per-channel A (A = −exp(A_log)), sequential over tokens:
 *   h_t[c,n] = exp(Δ_t[c]·A[c,n]) · h_{t−1}[c,n] + Δ_t[c] · B_t[n] · x_t[c]
 *   y_t[c]   = Σ_n C_t[n] · h_t[c,n] + D[c] · x_t[c]
 * `h0` [E, S] is the state before the chunk. Returns y [T, E] (ungated), the final state, and, when asked,
 * every intermediate state [T, E, S].
 */
export function selectiveScan(
  x: Tensor,
  dt: Tensor,
  A: Float32Array,
  B: Tensor,
  C: Tensor,
  D: Float32Array,
  h0: Tensor,
  keepStates = false,
): { y: Tensor; h: Tensor; states: Tensor | null } {
  const [T, E] = x.shape;
  const S = B.shape[1];
  const h = new Float64Array(h0.data);
  const y = new Float32Array(T * E);
  const states = keepStates ? new Float32Array(T * E * S) : null;
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < E; c++) {
      const d = dt.data[t * E + c];
      const xv = x.data[t * E + c];
      let acc = 0;
      for (let n = 0; n < S; n++) {
        const i = c * S + n;
        h[i] = Math.exp(d * A[i]) * h[i] + d * B.data[t * S + n] * xv;
        acc += C.data[t * S + n] * h[i];
        if (states) states[t * E * S + i] = h[i];
      }
      y[t * E + c] = acc + D[c] * xv;
    }
  }
  return { y: tensor([T, E], y), h: tensor([E, S], Float32Array.from(h)), states: states ? tensor([T, E, S], states) : null };
}

/** SwiGLU MLP: down · (SiLU(gate · x) ⊙ (up · x)). */
export function swiglu(x: Tensor, gate: Float32Array, up: Float32Array, down: Float32Array, F: number): Tensor {
  const D = x.shape[1];
  const g = linear(x, gate, F, D);
  const u = linear(x, up, F, D);
  for (let i = 0; i < g.data.length; i++) g.data[i] = silu(g.data[i]) * u.data[i];
  return linear(g, down, D, F);
}

export function add(a: Tensor, b: Tensor): Tensor {
  const out = new Float32Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i] + b.data[i];
  return tensor(a.shape.slice(), out);
}
