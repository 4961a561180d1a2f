// One decode step of the SSM branch after x_proj (hymba-spec.md §2.6, §2.10), in one dispatch:
//   s = x_proj · xc = [dt_r | B | C]  → RMSNorm each block with its gain (every workgroup recomputes these
//   R + 2S values: cheaper than a dispatch);
//   Δ[c] = softplus(dt_proj[c] · norm(dt_r) + bias[c]);
//   h[c,n] = exp(Δ[c]·A[c,n]) · h[c,n] + Δ[c] · B[n] · xc[c]       (state updated in place, f32)
//   y[c]   = (Σ_n C[n] · h[c,n] + D[c] · xc[c]) · SiLU(z[c])
// The conv step and its state update happened in in_proj's epilogue (gemv.ts), which wrote xc.
// Thread mapping as the prefill scan: one thread per (channel, state n), 64 / S channels per workgroup.
// `pack` holds the layer's small vectors: [dt bias (E) | dt_layernorm (R) | B_layernorm (S) | C_layernorm (S)].

import { weightDecl, siluWgsl } from './common.ts';
import { f32bits, type Kernel } from '../runtime.ts';
import { combineWgsl } from './decode-attention.ts';
import type { WeightDType } from '../weights.ts';

export function ssmStepKernel(S: number, R: number, dtDtype: WeightDType, combineDv?: number): Kernel {
  const CH = Math.max(1, Math.floor(64 / S));
  const W = CH * S;
  return {
    name: `decode-ssm-${S}-${R}-${dtDtype}${combineDv ? `+combine-${combineDv}` : ''}`,
    bindings: ['read', 'read', 'read', 'read', 'read', 'read', 'rw', 'rw'],
    wgsl: /* wgsl */ `
struct Params { E: u32, zOff: u32, eps: u32, sOff: u32, yOff: u32, groups: u32, heads: u32, nsplit: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> s: array<f32>;      // x_proj output [R + 2S] at sOff (attention partials at 0)
@group(0) @binding(2) var<storage, read> xc: array<f32>;     // conv output [E]
@group(0) @binding(3) var<storage, read> P: array<f32>;      // in_proj output (z at zOff)
${weightDecl(dtDtype, 4)}
@group(0) @binding(5) var<storage, read> AD: array<f32>;     // [A (E·S) ; D (E)]
@group(0) @binding(6) var<storage, read> pack: array<f32>;   // [dt bias | dt gain | B gain | C gain]
@group(0) @binding(7) var<storage, read_write> state: array<f32>;
@group(0) @binding(8) var<storage, read_write> y: array<f32>;  // [E] at yOff (the attention output at 0)
const S = ${S}u;
const R = ${R}u;
const CH = ${CH}u;
var<workgroup> sv: array<f32, ${R + 2 * S}>;
var<workgroup> scale: array<f32, 3>;
var<workgroup> part: array<f32, ${W}>;
var<workgroup> chan: array<f32, ${2 * CH}>;
${siluWgsl}
fn softplus(v: f32) -> f32 {
  if (v > 20.0) { return v; }
  if (v < -15.0) { return exp(v); }
  return log(1.0 + exp(v));
}
${combineDv ? combineWgsl(combineDv, W, 's', 'y') : ''}
// Workgroups: the attention combine's \`heads\` first (merged with the SSM step: the two are independent), then the
// SSM step's channel groups. workgroup_id is uniform, so the barriers inside either branch are legal.
@compute @workgroup_size(${W})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let id = wg.y * nwg.x + wg.x;
  ${combineDv ? 'if (id < p.heads) { combine(id, lid, p.nsplit); return; }' : ''}
  if (id - p.heads < p.groups) { step(id - p.heads, lid); }
}
fn step(grp: u32, lid: u32) {
  for (var i = lid; i < R + 2u * S; i += ${W}u) { sv[i] = s[p.sOff + i]; }
  workgroupBarrier();
  if (lid < 3u) {
    let lo = select(R + (lid - 1u) * S, 0u, lid == 0u);
    let n = select(S, R, lid == 0u);
    var ss = 0.0;
    for (var i = 0u; i < n; i++) { ss += sv[lo + i] * sv[lo + i]; }
    scale[lid] = 1.0 / sqrt(ss / f32(n) + bitcast<f32>(p.eps));
  }
  workgroupBarrier();
  for (var i = lid; i < R + 2u * S; i += ${W}u) {
    // pack holds E dt-bias values first, then the three gains in the order of sv.
    let block = select(select(2u, 1u, i < R + S), 0u, i < R);
    sv[i] = sv[i] * scale[block] * pack[p.E + i];
  }
  workgroupBarrier();
  let local = lid / S;
  let n = lid % S;
  let c = grp * CH + local;
  let live = c < p.E;
  let cc = min(c, p.E - 1u);
  var d = 0.0;
  for (var r = n; r < R; r += S) { d += w_load(cc * R + r) * sv[r]; }
  part[lid] = d;
  workgroupBarrier();
  if (n == 0u) {
    var t = 0.0;
    for (var i = 0u; i < S; i++) { t += part[local * S + i]; }
    chan[2u * local] = softplus(t + pack[cc]);
    chan[2u * local + 1u] = xc[cc];
  }
  workgroupBarrier();
  let dt = chan[2u * local];
  let x = chan[2u * local + 1u];
  var h = state[cc * S + n];
  h = exp(dt * AD[cc * S + n]) * h + dt * sv[R + n] * x;
  if (live) { state[c * S + n] = h; }
  part[lid] = sv[R + S + n] * h;
  workgroupBarrier();
  if (n == 0u && live) {
    var acc = 0.0;
    for (var i = 0u; i < S; i++) { acc += part[local * S + i]; }
    y[p.yOff + c] = (acc + AD[p.E * S + c] * x) * silu(P[p.zOff + c]);
  }
}`,
  };
}

export const ssmStepGroups = (E: number, S: number): number => Math.ceil(E / Math.max(1, Math.floor(64 / S)));

/** The SSM step's uniform; `heads` > 0 merges the attention combine of `heads` query heads over `nsplit` splits. */
export function ssmStepParams(
  a: { E: number; S: number; zOff: number; eps: number; sOff: number; yOff: number },
  combine = { heads: 0, nsplit: 0 },
): number[] {
  return [a.E, a.zOff, f32bits(a.eps), a.sOff, a.yOff, ssmStepGroups(a.E, a.S), combine.heads, combine.nsplit];
}

/** Loads in flight per argmax thread: a single workgroup reads the whole vocabulary, so it is latency-bound (4 loads
 * per iteration: 32 dependent rounds over 32k logits, 13 µs on the H200; now 8). */
const ARGMAX_AHEAD = 16;
const argmaxLoads = Array.from({ length: ARGMAX_AHEAD }, (_, k) => `let v${k} = logits[min(i + ${256 * k}u, p.V - 1u)];`).join('\n    ');
// Taken in increasing index order, so ties still go to the lowest id; loads past the end are clamped and skipped.
const argmaxTakes = Array.from(
  { length: ARGMAX_AHEAD },
  (_, k) => `if (i + ${256 * k}u < p.V && (v${k} > best || at == 0xffffffffu)) { best = v${k}; at = i + ${256 * k}u; }`,
).join('\n    ');

/** Greedy sampling on the GPU: token[0] = argmax(logits) (ties to the lowest id, like torch.argmax), also kept in
 * results[slot] so a run of greedy steps reads all its ids back at once. One workgroup. */
export const argmaxKernel: Kernel = {
  name: 'argmax',
  bindings: ['read', 'rw', 'rw'],
  wgsl: /* wgsl */ `
struct Params { V: u32, slot: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> token: array<u32>;
@group(0) @binding(3) var<storage, read_write> results: array<u32>;
var<workgroup> bv: array<f32, 256>;
var<workgroup> bi: array<u32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  var best = -3.4e38;
  var at = 0xffffffffu;
  for (var i = lid; i < p.V; i += ${256 * ARGMAX_AHEAD}u) {
    ${argmaxLoads}
    ${argmaxTakes}
  }
  bv[lid] = best;
  bi[lid] = at;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let ov = bv[lid + s];
      let oi = bi[lid + s];
      if (oi != 0xffffffffu && (ov > bv[lid] || (ov == bv[lid] && oi < bi[lid]) || bi[lid] == 0xffffffffu)) { bv[lid] = ov; bi[lid] = oi; }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    token[0] = bi[0];
    results[p.slot] = bi[0];
  }
}`,
};
