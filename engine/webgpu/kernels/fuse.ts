// The fusion of the two branches (the paper's mean fusion; β are the RMSNorm gains, ablation masks folded in):
//   m = (β1 ⊙ RMSNorm(attn) + β2 ⊙ RMSNorm(ssm)) / (number of present branches)
// One workgroup per row; both sums of squares reduced together in workgroup memory. On the 'cpu-like' profile
// (runtime.ts) one invocation per row sums its squares itself: no workgroup memory, no barrier.
// Gains are one row [E] for all rows, or (a batch whose sequences are ablated differently) one row per sequence:
// row t uses gain row floor(t / gainRows).

import { type GpuTensor, type Kernel, type Pass } from '../runtime.ts';
import { uniforms } from './uniforms.ts';

const P = uniforms({ cols: 'u32', hasAttn: 'u32', hasSsm: 'u32', eps: 'f32', rows: 'u32', gainRows: 'u32' });

const WG = 64;

/** The bindings of both variants: the two branch outputs, their gains, the fused output. */
const BINDINGS = /* wgsl */ `
${P.wgsl}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> s: array<f32>;
@group(0) @binding(3) var<storage, read> ga: array<f32>;
@group(0) @binding(4) var<storage, read> gs: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;`;

const fuseKernel: Kernel = {
  name: 'fuse',
  bindings: ['read', 'read', 'read', 'read', 'rw'],
  wgsl: /* wgsl */ `
${BINDINGS}
var<workgroup> pa: array<f32, ${WG}>;
var<workgroup> ps: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let base = wg.x * p.cols;
  let g0 = (wg.x / p.gainRows) * p.cols;
  var sa = 0.0;
  var ss = 0.0;
  for (var c = lid; c < p.cols; c += ${WG}u) {
    if (p.hasAttn != 0u) { let v = a[base + c]; sa += v * v; }
    if (p.hasSsm != 0u) { let v = s[base + c]; ss += v * v; }
  }
  pa[lid] = sa;
  ps[lid] = ss;
  workgroupBarrier();
  for (var st = ${WG / 2}u; st > 0u; st >>= 1u) {
    if (lid < st) { pa[lid] += pa[lid + st]; ps[lid] += ps[lid + st]; }
    workgroupBarrier();
  }
  let eps = p.eps;
  let ra = 1.0 / sqrt(pa[0] / f32(p.cols) + eps);
  let rs = 1.0 / sqrt(ps[0] / f32(p.cols) + eps);
  let n = f32(p.hasAttn + p.hasSsm);
  for (var c = lid; c < p.cols; c += ${WG}u) {
    var m = 0.0;
    if (p.hasAttn != 0u) { m += a[base + c] * ra * ga[g0 + c] / n; }
    if (p.hasSsm != 0u) { m += s[base + c] * rs * gs[g0 + c] / n; }
    out[base + c] = m;
  }
}`,
};

/** The 'cpu-like' variant: invocation `row` fuses one row. */
const fuseRowKernel: Kernel = {
  name: 'fuse-row',
  bindings: ['read', 'read', 'read', 'read', 'rw'],
  wgsl: /* wgsl */ `
${BINDINGS}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= p.rows) { return; }
  let base = gid.x * p.cols;
  let g0 = (gid.x / p.gainRows) * p.cols;
  var sa = 0.0;
  var ss = 0.0;
  for (var c = 0u; c < p.cols; c++) {
    if (p.hasAttn != 0u) { let v = a[base + c]; sa += v * v; }
    if (p.hasSsm != 0u) { let v = s[base + c]; ss += v * v; }
  }
  let eps = p.eps;
  let ra = 1.0 / sqrt(sa / f32(p.cols) + eps);
  let rs = 1.0 / sqrt(ss / f32(p.cols) + eps);
  let n = f32(p.hasAttn + p.hasSsm);
  for (var c = 0u; c < p.cols; c++) {
    var m = 0.0;
    if (p.hasAttn != 0u) { m += a[base + c] * ra * ga[g0 + c] / n; }
    if (p.hasSsm != 0u) { m += s[base + c] * rs * gs[g0 + c] / n; }
    out[base + c] = m;
  }
}`,
};

/**
 * attn / ssm [T, E] (either may be null), gains f32 with the ablation already applied: [E], or [T / gainRows, E]
 * (one row per sequence of a batch, gainRows = rows per sequence).
 */
export function encodeFuse(
  pass: Pass,
  attn: { x: GpuTensor; gain: GPUBuffer } | null,
  ssm: { x: GpuTensor; gain: GPUBuffer } | null,
  eps: number,
  out: GpuTensor,
  gainRows = out.shape[0],
): void {
  const [T, E] = out.shape;
  const any = (attn ?? ssm)!;
  if (T === 0) return;
  const cpu = pass.profile === 'cpu-like';
  pass.dispatch(
    cpu ? fuseRowKernel : fuseKernel,
    P.pack({ cols: E, hasAttn: attn ? 1 : 0, hasSsm: ssm ? 1 : 0, eps, rows: T, gainRows }),
    [(attn ?? any).x.buffer, (ssm ?? any).x.buffer, (attn ?? any).gain, (ssm ?? any).gain, out.buffer],
    [cpu ? Math.ceil(T / WG) : T],
  );
}
