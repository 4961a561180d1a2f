// Attention with GQA (query head h uses KV head floor(h / (H / Hkv))), dqk ≠ dv, scale 1/sqrt(dqk), and the Hymba
// mask (cpu/ops.ts MaskRule): key k is visible to query q when k ≤ q and (global, or q − k ≤ window, or k < numMeta).
// Query row t has position qPos0 + t; key row k has position k (prefill; a decode step passes qPos0 = its position).
// Consumer layers of a kv_reuse_group simply bind their producer's K and V buffers.
//
// Fused path (this file): online softmax, never materialising the probabilities. One workgroup of 64 threads per
// (query t, head h). The visible keys form two runs — the meta tokens before the window, then the window up to q —
// walked in blocks of 64: each thread scores one key, the block max/sum are reduced in workgroup memory, the
// running max m and sum l are rescaled (flash-attention style), and each thread accumulates dv/64 output columns.
// On the 'cpu-like' profile (runtime.ts) one invocation per (query t, head h) walks the keys one at a time with
// the same online softmax, its DV outputs in private memory: no workgroup memory, no barriers.
// The unfused path that writes the probabilities is attention-probs.ts.
// A batch (engine.ts forwardBatch) stacks sequences of `seqRows` rows in q, k and v alike: query row t is row
// t mod seqRows of its sequence and sees only that sequence's keys (rows t − t mod seqRows …).

import { type GpuTensor, type Kernel, type Pass } from '../runtime.ts';
import { uniforms } from './uniforms.ts';

const WG = 64;
export const GLOBAL = 0xffffffff;

export interface AttentionShape {
  T: number; // query rows
  heads: number;
  kvHeads: number;
  dqk: number;
  dv: number;
  qPos0: number;
  /** null = global (causal only). */
  window: number | null;
  numMeta: number;
  /** Rows per sequence when T rows stack several sequences (a batch; the fused and row paths only). Default T. */
  seqRows?: number;
}

/** The visible key runs of a query at position qp, as WGSL (shared by both paths). */
export const keyRunsWgsl = /* wgsl */ `
// Visible keys of query position qp: [0, aEnd) (meta tokens left of the window) then [bStart, qp].
fn key_runs(qp: u32, window: u32, numMeta: u32) -> vec2u {
  if (window == ${GLOBAL}u) { return vec2u(0u, 0u); }
  var lo = 0u;
  if (qp > window) { lo = qp - window; }
  return vec2u(min(numMeta, lo), lo);
}`;

/** The bindings of both paths: q [T, heads·dqk], k [Tk, kvHeads·dqk], v [Tk, kvHeads·dv], out [T, heads·dv]. */
const bindingsWgsl = (dqk: number, dv: number) => /* wgsl */ `
${P.wgsl}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
const DQK = ${dqk}u;
const DV = ${dv}u;`;

/**
 * The fused path's body, shared with cache-attention.ts (only where a key comes from differs):
 * `fn attend(t, h, lid, qp, k0)` computes query row t, head h at position qp with one workgroup of 64 threads. The
 * kernel declares q, out, p (the attention fields), DQK, DV, and `kval(k0, key, g, i)` / `vval(k0, key, g, c)`:
 * element i of K (c of V) at key position `key` for KV head g, k0 being the first key row of the query's sequence.
 */
export function fusedAttentionWgsl(dv: number): string {
  const per = Math.ceil(dv / WG);
  return /* wgsl */ `
const NEG = -3.0e38;
var<workgroup> qs: array<f32, DQK>;
var<workgroup> pw: array<f32, ${WG}>;
var<workgroup> red: array<f32, ${WG}>;
${keyRunsWgsl}
fn reduce_max(lid: u32, x: f32) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn reduce_sum(lid: u32, x: f32) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn attend(t: u32, h: u32, lid: u32, qp: u32, k0: u32) {
  let g = h / (p.heads / p.kvHeads);
  let scale = p.scale;
  for (var i = lid; i < DQK; i += ${WG}u) { qs[i] = q[(t * p.heads + h) * DQK + i]; }
  workgroupBarrier();
  let runs = key_runs(qp, p.window, p.numMeta);
  let total = runs.x + (qp + 1u - runs.y);
  var m = NEG;
  var l = 0.0;
  var acc: array<f32, ${per}>;
  for (var j0 = 0u; j0 < total; j0 += ${WG}u) {
    // Score one key per thread.
    let j = j0 + lid;
    var s = NEG;
    if (j < total) {
      let key = select(runs.y + (j - runs.x), j, j < runs.x);
      var dot = 0.0;
      for (var i = 0u; i < DQK; i++) { dot += qs[i] * kval(k0, key, g, i); }
      s = dot * scale;
    }
    let mNew = max(m, reduce_max(lid, s));
    let alpha = exp(m - mNew);
    var e = 0.0;
    if (j < total) { e = exp(s - mNew); }
    pw[lid] = e;
    l = l * alpha + reduce_sum(lid, e);
    m = mNew;
    // Each thread owns output columns lid, lid + 64, …
    let n = min(${WG}u, total - j0);
    for (var c = 0u; c < ${per}u; c++) {
      let col = lid + c * ${WG}u;
      if (col < DV) {
        var a = acc[c] * alpha;
        for (var jj = 0u; jj < n; jj++) {
          let jk = j0 + jj;
          let key = select(runs.y + (jk - runs.x), jk, jk < runs.x);
          a += pw[jj] * vval(k0, key, g, col);
        }
        acc[c] = a;
      }
    }
    workgroupBarrier();
  }
  for (var c = 0u; c < ${per}u; c++) {
    let col = lid + c * ${WG}u;
    if (col < DV) { out[(t * p.heads + h) * DV + col] = acc[c] / l; }
  }
}`;
}

function fusedKernel(dqk: number, dv: number): Kernel {
  return {
    name: `attention-fused-${dqk}-${dv}`,
    bindings: ['read', 'read', 'read', 'rw'],
    wgsl: /* wgsl */ `
${bindingsWgsl(dqk, dv)}
fn kval(k0: u32, key: u32, g: u32, i: u32) -> f32 { return k[((k0 + key) * p.kvHeads + g) * DQK + i]; }
fn vval(k0: u32, key: u32, g: u32, c: u32) -> f32 { return v[((k0 + key) * p.kvHeads + g) * DV + c]; }
${fusedAttentionWgsl(dv)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let tl = wg.x % p.seqRows;
  attend(wg.x, wg.y, lid, p.qPos0 + tl, wg.x - tl);   // keys from the first row of this query's sequence
}`,
  };
}

function rowKernel(dqk: number, dv: number): Kernel {
  return {
    name: `attention-row-${dqk}-${dv}`,
    bindings: ['read', 'read', 'read', 'rw'],
    wgsl: /* wgsl */ `
${bindingsWgsl(dqk, dv)}
${keyRunsWgsl}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;   // (t, h) flattened, heads fastest
  if (i >= p.T * p.heads) { return; }
  let t = i / p.heads;
  let h = i % p.heads;
  let g = h / (p.heads / p.kvHeads);
  let tl = t % p.seqRows;
  let k0 = t - tl;
  let qp = p.qPos0 + tl;
  let scale = p.scale;
  let runs = key_runs(qp, p.window, p.numMeta);
  let total = runs.x + (qp + 1u - runs.y);
  var m = -3.0e38;
  var l = 0.0;
  var acc: array<f32, DV>;
  for (var j = 0u; j < total; j++) {
    let key = k0 + select(runs.y + (j - runs.x), j, j < runs.x);
    var dot = 0.0;
    for (var d = 0u; d < DQK; d++) { dot += q[i * DQK + d] * k[(key * p.kvHeads + g) * DQK + d]; }
    let s = dot * scale;
    let mNew = max(m, s);
    let alpha = exp(m - mNew);
    let e = exp(s - mNew);
    l = l * alpha + e;
    m = mNew;
    for (var c = 0u; c < DV; c++) { acc[c] = acc[c] * alpha + e * v[(key * p.kvHeads + g) * DV + c]; }
  }
  for (var c = 0u; c < DV; c++) { out[i * DV + c] = acc[c] / l; }
}`,
  };
}

/** The uniform fields the prefill attention kernels share (here, attention-probs.ts, cache-attention.ts); each adds one. */
export const attentionFields = {
  T: 'u32',
  heads: 'u32',
  kvHeads: 'u32',
  qPos0: 'u32',
  window: 'u32',
  numMeta: 'u32',
  scale: 'f32',
} as const;

export function attentionValues(s: AttentionShape) {
  return {
    T: s.T,
    heads: s.heads,
    kvHeads: s.kvHeads,
    qPos0: s.qPos0,
    window: s.window ?? GLOBAL,
    numMeta: s.numMeta,
    scale: 1 / Math.sqrt(s.dqk),
  };
}

/** seqRows: rows per sequence of a batched pass (a query sees keys of its own sequence only). */
const P = uniforms({ ...attentionFields, seqRows: 'u32' });

/** out [T, heads·dv] = softmax(q kᵀ / sqrt(dqk), masked) v. q [T, heads·dqk], k [Tk, kvHeads·dqk], v [Tk, kvHeads·dv]. */
export function encodeAttention(pass: Pass, s: AttentionShape, q: GpuTensor, k: GpuTensor, v: GpuTensor, out: GpuTensor): void {
  if (s.T === 0) return;
  const buffers = [q.buffer, k.buffer, v.buffer, out.buffer];
  const params = P.pack({ ...attentionValues(s), seqRows: s.seqRows ?? s.T });
  if (pass.profile === 'cpu-like') pass.dispatch(rowKernel(s.dqk, s.dv), params, buffers, [Math.ceil((s.T * s.heads) / 64)]);
  else pass.dispatch(fusedKernel(s.dqk, s.dv), params, buffers, [s.T, s.heads]);
}
