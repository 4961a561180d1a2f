// Attention, unfused: used when `layers.i.attn.probs` is tapped, so the maps are the exact probabilities.
//   probs kernel: one workgroup of 64 threads per (query t, head h) writes probs[h, t, 0..Tk) — three sweeps over
//                 the keys (max, sum of exp, normalise); masked keys get exactly 0, like the CPU.
//   apply kernel: one thread per (t, h, e): out[t, h·dv + e] = Σ_k probs[h, t, k] · v[k, g·dv + e].
// Same mask, GQA mapping and scale as attention.ts.

import { flatWorkgroup } from './common.ts';
import { attentionFields, attentionValues, keyRunsWgsl, type AttentionShape } from './attention.ts';
import { uniforms } from './uniforms.ts';
import { grid, type GpuTensor, type Kernel, type Pass } from '../runtime.ts';

const WG = 64;
const P = uniforms({ ...attentionFields, Tk: 'u32' });
const params = `${P.wgsl}
@group(0) @binding(0) var<uniform> p: Params;`;

function probsKernel(dqk: number): Kernel {
  return {
    name: `attention-probs-${dqk}`,
    bindings: ['read', 'read', 'rw'],
    wgsl: /* wgsl */ `
${params}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read_write> probs: array<f32>;
const DQK = ${dqk}u;
var<workgroup> red: array<f32, ${WG}>;
${keyRunsWgsl}
fn visible(key: u32, qp: u32) -> bool {
  let runs = key_runs(qp, p.window, p.numMeta);
  return key <= qp && (key < runs.x || key >= runs.y);
}
fn score(t: u32, h: u32, g: u32, key: u32) -> f32 {
  var dot = 0.0;
  for (var i = 0u; i < DQK; i++) { dot += q[(t * p.heads + h) * DQK + i] * k[(key * p.kvHeads + g) * DQK + i]; }
  return dot * p.scale;
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = wg.x;
  let h = wg.y;
  let g = h / (p.heads / p.kvHeads);
  let qp = p.qPos0 + t;
  var m = -3.0e38;
  for (var key = lid; key < p.Tk; key += ${WG}u) { if (visible(key, qp)) { m = max(m, score(t, h, g, key)); } }
  red[lid] = m;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) { if (lid < s) { red[lid] = max(red[lid], red[lid + s]); } workgroupBarrier(); }
  m = red[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var key = lid; key < p.Tk; key += ${WG}u) { if (visible(key, qp)) { sum += exp(score(t, h, g, key) - m); } }
  red[lid] = sum;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) { if (lid < s) { red[lid] += red[lid + s]; } workgroupBarrier(); }
  sum = red[0];
  let row = (h * p.T + t) * p.Tk;
  for (var key = lid; key < p.Tk; key += ${WG}u) {
    var pr = 0.0;
    if (visible(key, qp)) { pr = exp(score(t, h, g, key) - m) / sum; }
    probs[row + key] = pr;
  }
}`,
  };
}

function applyKernel(dv: number): Kernel {
  return {
    name: `attention-apply-${dv}`,
    bindings: ['read', 'read', 'rw'],
    wgsl: /* wgsl */ `
${params}
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
const DV = ${dv}u;
${flatWorkgroup}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_wg(wg, nwg) * ${WG}u + lid;
  if (i >= p.T * p.heads * DV) { return; }
  let e = i % DV;
  let h = (i / DV) % p.heads;
  let t = i / (DV * p.heads);
  let g = h / (p.heads / p.kvHeads);
  let row = (h * p.T + t) * p.Tk;
  var acc = 0.0;
  for (var key = 0u; key < p.Tk; key++) {
    let pr = probs[row + key];
    if (pr != 0.0) { acc += pr * v[(key * p.kvHeads + g) * DV + e]; }
  }
  out[(t * p.heads + h) * DV + e] = acc;
}`,
  };
}

/** Writes probs [heads, T, Tk] and out [T, heads·dv]. */
export function encodeAttentionProbs(
  pass: Pass,
  s: AttentionShape,
  Tk: number,
  q: GpuTensor,
  k: GpuTensor,
  v: GpuTensor,
  probs: GpuTensor,
  out: GpuTensor,
): void {
  if (s.T === 0) return;
  const params = P.pack({ ...attentionValues(s), Tk });
  pass.dispatch(probsKernel(s.dqk), params, [q.buffer, k.buffer, probs.buffer], [s.T, s.heads]);
  pass.dispatch(applyKernel(s.dv), params, [probs.buffer, v.buffer, out.buffer], grid(Math.ceil((s.T * s.heads * s.dv) / WG)));
}
