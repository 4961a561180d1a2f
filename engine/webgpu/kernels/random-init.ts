// Deterministic random weights written on the GPU, straight into a weight chunk in its stored form (f32, or bf16 /
// f16 packed two per u32), so a full-size model needs no host array: element e of tensor `stream` is
//   value = mean + scale · u,   u = uniform(−√3, √3) from a hash of (seed, stream, e)   (variance scale²)
// The hash is the PCG output permutation applied twice (Jarzynski & Olano, "Hash Functions for GPU Rendering",
// JCGT 2020): statistically good enough for weights and the same on every GPU.

import { grid, type Kernel } from '../runtime.ts';
import type { WeightDType } from '../weights.ts';
import { uniforms } from './uniforms.ts';

const P = uniforms({ words: 'u32', first: 'u32', seed: 'u32', mean: 'f32', scale: 'f32', count: 'u32' });

const WG = 256;

export function randomInitKernel(dtype: WeightDType): Kernel {
  const store =
    dtype === 'F32'
      ? 'w[i] = value(p.first + i);'
      : dtype === 'BF16'
        ? 'w[i] = bf16(value(p.first + 2u * i)) | (bf16(value(p.first + 2u * i + 1u)) << 16u);'
        : 'w[i] = pack2x16float(vec2f(value(p.first + 2u * i), value(p.first + 2u * i + 1u)));';
  return {
    name: `random-init-${dtype}`,
    bindings: ['rw'],
    wgsl: /* wgsl */ `
${P.wgsl}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> w: array<${dtype === 'F32' ? 'f32' : 'u32'}>;
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}
// Element e of the tensor (elements past the end of an odd-sized 16-bit tensor are 0, the padding).
fn value(e: u32) -> f32 {
  if (e >= p.count) { return 0.0; }
  let u = f32(pcg(pcg(e) ^ p.seed) >> 8u) / 16777216.0;   // [0, 1), 24 bits
  return p.mean + p.scale * 1.7320508 * (2.0 * u - 1.0);
}
// Round to nearest even bf16 (no NaNs are produced here).
fn bf16(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  return (b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u;
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * nwg.x + wg.x) * ${WG}u + lid;
  if (i >= p.words) { return; }
  ${store}
}`,
  };
}

/**
 * Params and workgroups to fill `elements` values starting at element `first` of the tensor (a chunk of it).
 * `stream` tells tensors apart (the same seed gives every tensor its own values).
 */
export function randomInitDispatch(
  dtype: WeightDType,
  first: number,
  elements: number,
  count: number,
  seed: number,
  stream: number,
  mean: number,
  scale: number,
): { params: number[]; groups: [number, number] } {
  const words = dtype === 'F32' ? elements : Math.ceil(elements / 2);
  const mixed = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(stream + 1, 0xc2b2ae35);
  return { params: P.pack({ words, first, seed: mixed >>> 0, mean, scale, count }), groups: grid(Math.ceil(words / WG)) };
}
