// Depthwise causal conv1d + SiLU over x [T, E] (contiguous):
//   xc[t, c] = SiLU( bias[c] + Σ_{j<K} w[c, j] · x[t − K + 1 + j, c] )
// where inputs before the chunk come from `state` [E, K−1] (oldest first; zeros at the start of a sequence, so a
// decode step passes the previous K−1 inputs). One thread per (t, c).
// `encodeConvState` writes the next state (the last K−1 inputs) into another buffer, for decode.
// A batch (engine.ts forwardBatch) stacks sequences of `seqRows` rows: each starts from the same `state` (zeros).
// `ConvInput` reuses both kernels for the Q/K/V convolution (config lab_qkv_conv): x is then E columns of a wider
// matrix (in_proj's output, at a column offset and row stride), and `plain` drops the bias and the SiLU.

import { flatWorkgroup, siluWgsl } from './common.ts';
import { grid, type GpuTensor, type Kernel, type Pass } from '../runtime.ts';
import { uniforms } from './uniforms.ts';

const P = uniforms({ T: 'u32', E: 'u32', K: 'u32', seqRows: 'u32', xStride: 'u32', xOff: 'u32', plain: 'u32' });

const WG = 64;
const head = /* wgsl */ `
${P.wgsl}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> state: array<f32>;
${flatWorkgroup}
// Input at relative time tau ∈ [−(K−1), seqRows) of the sequence whose first row is row0, passed as tau + K − 1
// to stay unsigned.
fn input(row0: u32, tauShifted: u32, c: u32) -> f32 {
  let past = p.K - 1u;
  if (tauShifted < past) { return state[c * past + tauShifted]; }
  return x[(row0 + tauShifted - past) * p.xStride + p.xOff + c];
}`;

export const convKernel: Kernel = {
  name: 'conv1d-silu',
  bindings: ['read', 'read', 'read', 'read', 'rw'],
  wgsl: /* wgsl */ `
${head}
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
${siluWgsl}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_wg(wg, nwg) * ${WG}u + lid;
  if (i >= p.T * p.E) { return; }
  let row = i / p.E;
  let c = i % p.E;
  let t = row % p.seqRows;
  var s = 0.0;
  if (p.plain == 0u) { s = bias[c]; }
  for (var j = 0u; j < p.K; j++) { s += w[c * p.K + j] * input(row - t, t + j, c); }
  out[i] = select(silu(s), s, p.plain != 0u);
}`,
};

export const convStateKernel: Kernel = {
  name: 'conv1d-state',
  bindings: ['read', 'read', 'rw'],
  wgsl: /* wgsl */ `
${head}
@group(0) @binding(3) var<storage, read_write> next: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let past = p.K - 1u;
  let i = flat_wg(wg, nwg) * ${WG}u + lid;
  if (i >= p.E * past) { return; }
  let c = i / past;
  let j = i % past;
  next[i] = input(0u, p.T + j, c);   // relative time T − (K−1) + j
}`,
};

/** Where x's columns sit (default: x is contiguous) and whether to skip bias and SiLU (default false). */
export interface ConvInput {
  /** Floats per row of x's buffer (default E). */
  stride?: number;
  /** Column of x's buffer where the E convolved columns start (default 0). */
  offset?: number;
  /** Σ w·x only: no bias (bind any buffer), no SiLU. */
  plain?: boolean;
}

/** The uniform of both kernels (the decode program records them itself). */
export function convParams(T: number, E: number, K: number, seqRows: number, input: ConvInput = {}): number[] {
  return P.pack({ T, E, K, seqRows, xStride: input.stride ?? E, xOff: input.offset ?? 0, plain: input.plain ? 1 : 0 });
}

/** Workgroups of the conv kernel over T rows of E columns, and of the state kernel (T = 1 rows of E·(K−1)). */
export const convGroups = (T: number, E: number): [number, number] => grid(Math.ceil((T * E) / WG));

/**
 * `state` [E, K−1] and `bias` [E] are f32 buffers (zeros when absent); seqRows: rows per sequence (default T).
 * x.shape is [T, E] (the convolved columns; `input` says where they sit in x's buffer).
 */
export function encodeConv(
  pass: Pass,
  x: GpuTensor,
  state: GPUBuffer,
  w: GPUBuffer,
  bias: GPUBuffer,
  K: number,
  out: GpuTensor,
  seqRows = x.shape[0],
  input: ConvInput = {},
): void {
  const [T, E] = x.shape;
  if (T * E > 0) pass.dispatch(convKernel, convParams(T, E, K, seqRows, input), [x.buffer, state, w, bias, out.buffer], convGroups(T, E));
}

export function encodeConvState(pass: Pass, x: GpuTensor, state: GPUBuffer, K: number, next: GPUBuffer, input: ConvInput = {}): void {
  const [T, E] = x.shape;
  if (E * (K - 1) > 0) pass.dispatch(convStateKernel, convParams(T, E, K, T, input), [x.buffer, state, next], convGroups(1, E * (K - 1)));
}
