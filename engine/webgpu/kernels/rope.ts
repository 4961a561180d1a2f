// Rotary embedding, rotate-half (NeoX) layout, read from a strided view (the Q or K columns of in_proj) into a
// contiguous [T, heads·d] tensor. For j < d/2, with θ = pos · invFreq[j] rounded to f32 (as the CPU and the
// official code do):
//   u'[j] = u[j]·cos θ − u[j+d/2]·sin θ,   u'[j+d/2] = u[j+d/2]·cos θ + u[j]·sin θ
// cos θ and sin θ come from a table [positions, d/2, 2] computed once on the host: WGSL's sin/cos only promise an
// absolute error of 2^−11 on [−π, π] (SwiftShader really is that coarse), which shows up as 5e-4 in the logits.
// Positions are pos0 + t (pos0 > 0 for a decode step). One thread per (t, head, j).
// A batch (engine.ts forwardBatch) stacks sequences of `seqRows` rows each: row t has position pos0 + t mod seqRows.

import { flatWorkgroup } from './common.ts';
import { grid, type GpuTensor, type Kernel, type Pass } from '../runtime.ts';
import type { View } from './rmsnorm.ts';
import { uniforms } from './uniforms.ts';

const P = uniforms({ T: 'u32', heads: 'u32', d: 'u32', xOffset: 'u32', xStride: 'u32', pos0: 'u32', seqRows: 'u32' });

const WG = 64;

const ropeKernel: Kernel = {
  name: 'rope',
  bindings: ['read', 'read', 'rw'],
  wgsl: /* wgsl */ `
${P.wgsl}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> cosSin: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${flatWorkgroup}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let half = p.d / 2u;
  let i = flat_wg(wg, nwg) * ${WG}u + lid;
  if (i >= p.T * p.heads * half) { return; }
  let j = i % half;
  let h = (i / half) % p.heads;
  let t = i / (half * p.heads);
  let cs = ((p.pos0 + t % p.seqRows) * half + j) * 2u;
  let c = cosSin[cs];
  let s = cosSin[cs + 1u];
  let src = p.xOffset + t * p.xStride + h * p.d;
  let a = x[src + j];
  let b = x[src + j + half];
  let dst = t * p.heads * p.d + h * p.d;
  out[dst + j] = a * c - b * s;
  out[dst + j + half] = b * c + a * s;
}`,
};

/** The cos/sin table for positions 0..positions−1: θ = fround(pos · invFreq[j]), then cos and sin in float64. */
export function ropeTable(invFreq: Float32Array, positions: number): Float32Array {
  const half = invFreq.length;
  const table = new Float32Array(positions * half * 2);
  for (let pos = 0; pos < positions; pos++) {
    for (let j = 0; j < half; j++) {
      const theta = Math.fround(pos * invFreq[j]);
      table[(pos * half + j) * 2] = Math.cos(theta);
      table[(pos * half + j) * 2 + 1] = Math.sin(theta);
    }
  }
  return table;
}

/** `cosSin` from ropeTable, covering positions pos0 .. pos0 + seqRows − 1 (seqRows: rows per sequence, default T). */
export function encodeRope(
  pass: Pass,
  x: View,
  T: number,
  heads: number,
  d: number,
  cosSin: GPUBuffer,
  out: GpuTensor,
  pos0 = 0,
  seqRows = T,
): void {
  const n = T * heads * (d / 2);
  if (n === 0) return;
  pass.dispatch(
    ropeKernel,
    P.pack({ T, heads, d, xOffset: x.offset, xStride: x.stride, pos0, seqRows }),
    [x.buffer, cosSin, out.buffer],
    grid(Math.ceil(n / WG)),
  );
}
