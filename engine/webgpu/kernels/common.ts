// WGSL pieces shared by the kernels.

import type { WeightDType } from '../weights.ts';

/**
 * Storage declaration and loader for a weight matrix chunk of the given dtype, bound at `binding`:
 * `w_load(i)` returns element i of the chunk as f32. 16-bit weights are packed two per u32, little-endian
 * (element 2k in the low half): bf16 is the top half of an f32, f16 goes through unpack2x16float.
 */
export function weightDecl(dtype: WeightDType, binding: number): string {
  if (dtype === 'F32') {
    return `@group(0) @binding(${binding}) var<storage, read> w: array<f32>;
fn w_load(i: u32) -> f32 { return w[i]; }`;
  }
  const unpack =
    dtype === 'BF16'
      ? `let word = w[i >> 1u];
  return bitcast<f32>(select(word << 16u, word & 0xffff0000u, (i & 1u) == 1u));`
      : `return unpack2x16float(w[i >> 1u])[i & 1u];`;
  return `@group(0) @binding(${binding}) var<storage, read> w: array<u32>;
fn w_load(i: u32) -> f32 {
  ${unpack}
}`;
}

/** The flat workgroup index of a dispatch split over x and y by `grid()`. */
export const flatWorkgroup = /* wgsl */ `
fn flat_wg(wg: vec3u, nwg: vec3u) -> u32 { return wg.y * nwg.x + wg.x; }`;

export const siluWgsl = /* wgsl */ `
fn silu(v: f32) -> f32 { return v / (1.0 + exp(-v)); }`;
