// RMSNorm over the last dim of a [rows, cols] view: y = gain ⊙ x / sqrt(mean(x²) + eps).
// The view is (offset, stride) into its buffer, so the dt/B/C norms read column blocks of x_proj's output directly.
// An ablation mask is folded into the gain on the host. One workgroup per row, tree reduction of x²; on the
// 'cpu-like' profile (runtime.ts) one invocation per row instead, no workgroup memory, no barrier.

import { type GpuTensor, type Kernel, type Pass } from '../runtime.ts';
import { uniforms } from './uniforms.ts';

const P = uniforms({
  rows: 'u32',
  cols: 'u32',
  xOffset: 'u32',
  xStride: 'u32',
  outOffset: 'u32',
  outStride: 'u32',
  eps: 'f32',
  hasGain: 'u32',
});

const WG = 64;

/** The bindings of both variants. */
const BINDINGS = /* wgsl */ `
${P.wgsl}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gain: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;`;

const rmsnormKernel: Kernel = {
  name: 'rmsnorm',
  bindings: ['read', 'read', 'rw'],
  wgsl: /* wgsl */ `
${BINDINGS}
var<workgroup> partial: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x;
  let base = p.xOffset + row * p.xStride;
  var ss = 0.0;
  for (var c = lid; c < p.cols; c += ${WG}u) { let v = x[base + c]; ss += v * v; }
  partial[lid] = ss;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  let r = 1.0 / sqrt(partial[0] / f32(p.cols) + p.eps);
  for (var c = lid; c < p.cols; c += ${WG}u) {
    var g = 1.0;
    if (p.hasGain != 0u) { g = gain[c]; }
    out[p.outOffset + row * p.outStride + c] = x[base + c] * r * g;
  }
}`,
};

/** The 'cpu-like' variant: invocation `row` sums its row's squares itself, then scales it. */
const rmsnormRowKernel: Kernel = {
  name: 'rmsnorm-row',
  bindings: ['read', 'read', 'rw'],
  wgsl: /* wgsl */ `
${BINDINGS}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let row = gid.x;
  if (row >= p.rows) { return; }
  let base = p.xOffset + row * p.xStride;
  var ss = 0.0;
  for (var c = 0u; c < p.cols; c++) { let v = x[base + c]; ss += v * v; }
  let r = 1.0 / sqrt(ss / f32(p.cols) + p.eps);
  for (var c = 0u; c < p.cols; c++) {
    var g = 1.0;
    if (p.hasGain != 0u) { g = gain[c]; }
    out[p.outOffset + row * p.outStride + c] = x[base + c] * r * g;
  }
}`,
};

export interface View {
  buffer: GPUBuffer;
  offset: number;
  stride: number;
}
/** Columns [c0, c0 + width) of a [rows, cols] tensor as a strided view. */
export const colsView = (t: GpuTensor, c0: number): View => ({ buffer: t.buffer, offset: c0, stride: t.shape[1] });
export const whole = (t: GpuTensor): View => colsView(t, 0);

export function encodeRmsnorm(pass: Pass, x: View, rows: number, cols: number, gain: GPUBuffer | null, eps: number, out: View): void {
  if (rows === 0) return;
  const cpu = pass.profile === 'cpu-like';
  pass.dispatch(
    cpu ? rmsnormRowKernel : rmsnormKernel,
    P.pack({ rows, cols, xOffset: x.offset, xStride: x.stride, outOffset: out.offset, outStride: out.stride, eps, hasGain: gain ? 1 : 0 }),
    [x.buffer, gain ?? x.buffer, out.buffer],
    [cpu ? Math.ceil(rows / WG) : rows],
  );
}
