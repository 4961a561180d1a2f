// Depthwise causal conv1d + SiLU over x [T, E] (contiguous):
//   xc[t, c] = SiLU( bias[c] + Σ_{j<K} w[c, j] · x[t − K + 1 + j, c] )
// where inputs before the chunk come from `state` [E, K−1] (oldest first; zeros at the start of a sequence, so a
// decode step passes the previous K−1 inputs). One thread per (t, c).
// `encodeConvState` writes the next state (the last K−1 inputs) into another buffer, for decode.

import { flatWorkgroup, siluWgsl } from './common.ts';
import { grid, type GpuTensor, type Kernel, type Pass } from '../runtime.ts';

const WG = 64;
const head = /* wgsl */ `
struct Params { T: u32, E: u32, K: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> state: array<f32>;
${flatWorkgroup}
// Input at relative time tau ∈ [−(K−1), T), passed as tau + K − 1 to stay unsigned.
fn input(tauShifted: u32, c: u32) -> f32 {
  let past = p.K - 1u;
  if (tauShifted < past) { return state[c * past + tauShifted]; }
  return x[(tauShifted - past) * p.E + c];
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
  let t = i / p.E;
  let c = i % p.E;
  var s = bias[c];
  for (var j = 0u; j < p.K; j++) { s += w[c * p.K + j] * input(t + j, c); }
  out[i] = silu(s);
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
  next[i] = input(p.T + j, c);   // relative time T − (K−1) + j
}`,
};

/** `state` [E, K−1] and `bias` [E] are f32 buffers (zeros when absent). */
export function encodeConv(pass: Pass, x: GpuTensor, state: GPUBuffer, w: GPUBuffer, bias: GPUBuffer, K: number, out: GpuTensor): void {
  const [T, E] = x.shape;
  if (T * E > 0) pass.dispatch(convKernel, [T, E, K], [x.buffer, state, w, bias, out.buffer], grid(Math.ceil((T * E) / WG)));
}

export function encodeConvState(pass: Pass, x: GpuTensor, state: GPUBuffer, K: number, next: GPUBuffer): void {
  const [T, E] = x.shape;
  if (E * (K - 1) > 0) pass.dispatch(convStateKernel, [T, E, K], [x.buffer, state, next], grid(Math.ceil((E * (K - 1)) / WG)));
}
