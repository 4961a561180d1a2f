// Linear layer y = x · Wᵀ for an nn.Linear weight W [out, in] (rows [r0, r1) of W only), f32 accumulation.
//   x:   rows [T] of a strided view (xOffset + t·xStride), K = in features
//   out: out[outOffset + t·outStride + o], o ∈ [0, r1 − r0)
// W may be split into row chunks (weights.ts): one dispatch per chunk overlapping [r0, r1), each writing its columns.
//
// Two thread mappings:
// - GEMM (prefill, T > 1): a workgroup of 8×8 threads computes a 32 (tokens) × 32 (outputs) tile; each thread a
//   4×4 block. x and W tiles of 16 along K are staged in workgroup memory, loaded with consecutive threads on
//   consecutive k (coalesced reads of both row-major operands).
// - GEMV (decode, T = 1): one workgroup of 64 threads per output, a strided dot product and a tree reduction.
// - 'cpu-like' profile (runtime.ts KernelProfile), any T: one invocation per 4×4 block of outputs, plain dot
//   products over K in registers, no workgroup memory and no barriers (what a CPU implementation runs fastest).

import { flatWorkgroup, weightDecl } from './common.ts';
import { grid, type Kernel, type Pass } from '../runtime.ts';
import type { GpuMatrix, WeightDType } from '../weights.ts';
import type { View } from './rmsnorm.ts';
import { uniforms } from './uniforms.ts';

const TILE = 32;
const TK = 16;
const GEMV_WG = 64;

const P = uniforms({ T: 'u32', K: 'u32', n: 'u32', xOffset: 'u32', xStride: 'u32', wRow0: 'u32', outOffset: 'u32', outStride: 'u32' });
const params = `${P.wgsl}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;`;

function gemmKernel(dtype: WeightDType): Kernel {
  return {
    name: `gemm-${dtype}`,
    bindings: ['read', 'read', 'rw'],
    wgsl: /* wgsl */ `
${params}
${weightDecl(dtype, 2)}
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
var<workgroup> xs: array<array<f32, ${TK}>, ${TILE}>;
var<workgroup> ws: array<array<f32, ${TK}>, ${TILE}>;
@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) li: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t0 = wg.y * ${TILE}u;   // first token of the tile
  let o0 = wg.x * ${TILE}u;   // first output of the tile
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < p.K; k0 += ${TK}u) {
    for (var i = 0u; i < ${(TILE * TK) / 64}u; i++) {
      let idx = lid + i * 64u;
      let r = idx / ${TK}u;
      let kk = idx % ${TK}u;
      let k = k0 + kk;
      var xv = 0.0;
      if (t0 + r < p.T && k < p.K) { xv = x[p.xOffset + (t0 + r) * p.xStride + k]; }
      xs[r][kk] = xv;
      var wv = 0.0;
      if (o0 + r < p.n && k < p.K) { wv = w_load((p.wRow0 + o0 + r) * p.K + k); }
      ws[r][kk] = wv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) { a[i] = xs[li.y * 4u + i][kk]; b[i] = ws[li.x * 4u + i][kk]; }
      for (var i = 0u; i < 4u; i++) { for (var j = 0u; j < 4u; j++) { acc[i][j] += a[i] * b[j]; } }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      let t = t0 + li.y * 4u + i;
      let o = o0 + li.x * 4u + j;
      if (t < p.T && o < p.n) { out[p.outOffset + t * p.outStride + o] = acc[i][j]; }
    }
  }
}`,
  };
}

function gemvKernel(dtype: WeightDType): Kernel {
  return {
    name: `gemv-${dtype}`,
    bindings: ['read', 'read', 'rw'],
    wgsl: /* wgsl */ `
${params}
${weightDecl(dtype, 2)}
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
var<workgroup> partial: array<f32, ${GEMV_WG}>;
${flatWorkgroup}
@compute @workgroup_size(${GEMV_WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let o = flat_wg(wg, nwg);   // one output per workgroup (uniform: the barriers below stay in uniform control flow)
  let oc = min(o, p.n - 1u);
  var s = 0.0;
  for (var k = lid; k < p.K; k += ${GEMV_WG}u) { s += x[p.xOffset + k] * w_load((p.wRow0 + oc) * p.K + k); }
  partial[lid] = s;
  workgroupBarrier();
  for (var st = ${GEMV_WG / 2}u; st > 0u; st >>= 1u) {
    if (lid < st) { partial[lid] += partial[lid + st]; }
    workgroupBarrier();
  }
  if (lid == 0u && o < p.n) { out[p.outOffset + o] = partial[0]; }
}`,
  };
}

// One invocation per 4 tokens × 4 outputs block: 16 accumulators in registers, 8 loads per 16 multiply-adds.
// Blocks past the edge clamp their reads to valid rows and skip the writes.
function dotKernel(dtype: WeightDType): Kernel {
  return {
    name: `linear-dot-${dtype}`,
    bindings: ['read', 'read', 'rw'],
    wgsl: /* wgsl */ `
${params}
${weightDecl(dtype, 2)}
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let blocksO = (p.n + 3u) / 4u;
  let i = (wg.y * nwg.x + wg.x) * 64u + lid;
  if (i >= ((p.T + 3u) / 4u) * blocksO) { return; }
  let t0 = (i / blocksO) * 4u;
  let o0 = (i % blocksO) * 4u;
  var xr: array<u32, 4>;
  var wr: array<u32, 4>;
  for (var j = 0u; j < 4u; j++) {
    xr[j] = p.xOffset + min(t0 + j, p.T - 1u) * p.xStride;
    wr[j] = (p.wRow0 + min(o0 + j, p.n - 1u)) * p.K;
  }
  var acc: array<array<f32, 4>, 4>;
  for (var k = 0u; k < p.K; k++) {
    let xv = vec4f(x[xr[0] + k], x[xr[1] + k], x[xr[2] + k], x[xr[3] + k]);
    let wv = vec4f(w_load(wr[0] + k), w_load(wr[1] + k), w_load(wr[2] + k), w_load(wr[3] + k));
    for (var a = 0u; a < 4u; a++) {
      for (var b = 0u; b < 4u; b++) { acc[a][b] += xv[a] * wv[b]; }
    }
  }
  for (var a = 0u; a < 4u; a++) {
    for (var b = 0u; b < 4u; b++) {
      if (t0 + a < p.T && o0 + b < p.n) { out[p.outOffset + (t0 + a) * p.outStride + o0 + b] = acc[a][b]; }
    }
  }
}`,
  };
}

/**
 * out[t, o] = Σ_k x[t, k] · W[r0 + o, k] for t < T, o < r1 − r0. Uses GEMV when T = 1 (on the 'gpu' profile).
 */
export function encodeLinear(pass: Pass, x: View, T: number, W: GpuMatrix, out: View, r0 = 0, r1 = W.rows): void {
  if (T === 0 || r1 <= r0) return;
  const K = W.cols;
  const cpu = pass.profile === 'cpu-like';
  const kernel = cpu ? dotKernel(W.dtype) : T === 1 ? gemvKernel(W.dtype) : gemmKernel(W.dtype);
  for (const ch of W.chunks) {
    // Rows of this chunk that fall in [r0, r1).
    const a = Math.max(r0, ch.row0);
    const b = Math.min(r1, ch.row0 + ch.rows);
    if (a >= b) continue;
    const n = b - a;
    const params = P.pack({
      T,
      K,
      n,
      xOffset: x.offset,
      xStride: x.stride,
      wRow0: a - ch.row0,
      outOffset: out.offset + (a - r0),
      outStride: out.stride,
    });
    const groups: [number, number] = cpu
      ? grid(Math.ceil((Math.ceil(T / 4) * Math.ceil(n / 4)) / 64))
      : T === 1
        ? grid(n)
        : [Math.ceil(n / TILE), Math.ceil(T / TILE)];
    pass.dispatch(kernel, params, [x.buffer, ch.buffer, out.buffer], groups);
  }
}
