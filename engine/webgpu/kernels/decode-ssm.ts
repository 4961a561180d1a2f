// One decode step of the SSM branch after x_proj (hymba-spec.md §2.6, §2.10), in one dispatch:
//   s = x_proj · xc = [dt_r | B | C]  → RMSNorm each block with its gain (every workgroup recomputes these
//   R + 2S values: cheaper than a dispatch);
//   Δ[c] = softplus(dt_proj[c] · norm(dt_r) + bias[c]);
//   h[c,n] = exp(Δ[c]·A[c,n]) · h[c,n] + Δ[c] · B[n] · xc[c]       (state updated in place, f32)
//   y[c]   = (Σ_n C[n] · h[c,n] + D[c] · xc[c]) · SiLU(z[c])
// The conv step and its state update happened in in_proj's epilogue (gemv.ts), which wrote xc.
// Thread mapping: one thread per (channel, state n), STEP_THREADS / S channels per workgroup. The merged attention
// combine runs on the same workgroup size, and with 16-slot splits (72 at 1 k context) more threads keep its
// per-thread loop short (H200, the merged dispatch: 11.9 µs on 64 threads, 7.9 on 128, 6.4 on 256; its two halves
// alone 7.5 and 5.3: bench/results/h200-run16-step-threads/).
// The step is a latency chain (a few hundred small workgroups): every load that does not depend on x_proj's output
// (state, A, D, xc, z, biases, gains, dt_proj's weights) is issued first, and the RMS scales multiply at use.
// `pack` holds the layer's small vectors: [dt bias (E) | dt_layernorm (R) | B_layernorm (S) | C_layernorm (S)].

import { weightDecl, siluWgsl } from './common.ts';
import { type Kernel } from '../runtime.ts';
import { combineWgsl } from './decode-attention.ts';
import { uniforms } from './uniforms.ts';
import type { WeightDType } from '../weights.ts';

const P = uniforms({ E: 'u32', zOff: 'u32', eps: 'f32', sOff: 'u32', yOff: 'u32', groups: 'u32', heads: 'u32', nsplit: 'u32' });
const ARGMAX = uniforms({ V: 'u32', slot: 'u32' });

/** Threads per workgroup of the SSM step (and of the attention combine merged into it). */
const STEP_THREADS = 256;

export function ssmStepKernel(S: number, R: number, dtDtype: WeightDType, combineDv?: number): Kernel {
  const CH = Math.max(1, Math.floor(STEP_THREADS / S));
  const W = CH * S;
  return {
    name: `decode-ssm-${S}-${R}-${dtDtype}${combineDv ? `+combine-${combineDv}` : ''}`,
    bindings: ['read', 'read', 'read', 'read', 'read', 'read', 'rw', 'rw'],
    wgsl: /* wgsl */ `
${P.wgsl}
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
const RPT = ${Math.ceil(R / S)}u;
var<workgroup> sv: array<f32, ${R + 2 * S}>;
var<workgroup> part: array<f32, ${W}>;
var<workgroup> part2: array<f32, ${W}>;
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
  let local = lid / S;
  let n = lid % S;
  let c = grp * CH + local;
  let live = c < p.E;
  let cc = min(c, p.E - 1u);
  // Every load that does not depend on s goes first, so their latencies overlap s's instead of following it.
  let h0 = state[cc * S + n];
  let a = AD[cc * S + n];
  let dd = AD[p.E * S + cc];
  let x = xc[cc];
  let gate = silu(P[p.zOff + cc]);
  let bias = pack[cc];
  let gB = pack[p.E + R + n];
  let gC = pack[p.E + R + S + n];
  // This thread's share of dt_proj's row: r = n, n + S, …, each weight times its dt_layernorm gain.
  var wdt: array<f32, RPT>;
  for (var k = 0u; k < RPT; k++) {
    let r = n + k * S;
    if (r < R) { wdt[k] = w_load(cc * R + r) * pack[p.E + r]; }
  }
  for (var i = lid; i < R + 2u * S; i += ${W}u) { sv[i] = s[p.sOff + i]; }
  workgroupBarrier();
  // The three RMS scales (dt_r, B, C): every thread sums all of s from workgroup memory itself (no barrier rounds).
  var q = vec3f(0.0);
  for (var i = 0u; i < R; i++) { q.x += sv[i] * sv[i]; }
  for (var i = 0u; i < S; i++) {
    q.y += sv[R + i] * sv[R + i];
    q.z += sv[R + S + i] * sv[R + S + i];
  }
  let scale = 1.0 / sqrt(q / vec3f(f32(R), f32(S), f32(S)) + p.eps);
  var d = 0.0;
  for (var k = 0u; k < RPT; k++) {
    let r = n + k * S;
    if (r < R) { d += wdt[k] * sv[r]; }
  }
  part[lid] = d * scale.x;
  workgroupBarrier();
  // Each of the channel's S threads sums the S partial dot products itself (no barrier for a broadcast).
  var t = 0.0;
  for (var i = 0u; i < S; i++) { t += part[local * S + i]; }
  let dt = softplus(t + bias);
  let h = exp(dt * a) * h0 + dt * sv[R + n] * scale.y * gB * x;
  if (live) { state[c * S + n] = h; }
  part2[lid] = sv[R + S + n] * scale.z * gC * h;
  workgroupBarrier();
  if (n == 0u && live) {
    var acc = 0.0;
    for (var i = 0u; i < S; i++) { acc += part2[local * S + i]; }
    y[p.yOff + c] = (acc + dd * x) * gate;
  }
}`,
  };
}

export const ssmStepGroups = (E: number, S: number): number => Math.ceil(E / Math.max(1, Math.floor(STEP_THREADS / S)));

/** The SSM step's uniform; `heads` > 0 merges the attention combine of `heads` query heads over `nsplit` splits. */
export function ssmStepParams(
  a: { E: number; S: number; zOff: number; eps: number; sOff: number; yOff: number },
  combine = { heads: 0, nsplit: 0 },
): number[] {
  const { E, zOff, eps, sOff, yOff } = a;
  return P.pack({ E, zOff, eps, sOff, yOff, groups: ssmStepGroups(E, a.S), heads: combine.heads, nsplit: combine.nsplit });
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
export const argmaxParams = (V: number, slot: number): number[] => ARGMAX.pack({ V, slot });

export const argmaxKernel: Kernel = {
  name: 'argmax',
  bindings: ['read', 'rw', 'rw'],
  wgsl: /* wgsl */ `
${ARGMAX.wgsl}
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
