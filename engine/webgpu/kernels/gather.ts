// Embedding gather (and the meta-token prepend, which is a gather of rows 0..M−1 of model.memory_tokens):
//   out[outRow0 + j, c] = W[ids[j], c]      for the ids that fall in this weight chunk [row0, row0 + rows)
// One thread per (j, c); dispatched once per chunk of W, each dispatch writing only its own rows.

import { flatWorkgroup, weightDecl } from './common.ts';
import { grid, type GpuRuntime, type GpuTensor, type Kernel, type Pass } from '../runtime.ts';
import type { GpuMatrix, WeightDType } from '../weights.ts';
import { uniforms } from './uniforms.ts';

export const gatherUniforms = uniforms({ count: 'u32', cols: 'u32', row0: 'u32', rows: 'u32', outRow0: 'u32' });
const P = gatherUniforms;

const WG = 64;

export function gatherKernel(dtype: WeightDType): Kernel {
  return {
    name: `gather-${dtype}`,
    bindings: ['read', 'read', 'rw'],
    wgsl: /* wgsl */ `
${P.wgsl}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
${weightDecl(dtype, 2)}
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${flatWorkgroup}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_wg(wg, nwg) * ${WG}u + lid;
  if (i >= p.count * p.cols) { return; }
  let j = i / p.cols;
  let c = i % p.cols;
  let id = ids[j];
  if (id < p.row0 || id >= p.row0 + p.rows) { return; }
  out[(p.outRow0 + j) * p.cols + c] = w_load((id - p.row0) * p.cols + c);
}`,
  };
}

/** Write rows W[ids[j]] into out rows outRow0 + j. `ids` is a u32 buffer of `count` ids. */
export function encodeGather(pass: Pass, W: GpuMatrix, ids: GPUBuffer, count: number, out: GpuTensor, outRow0: number): void {
  if (count === 0) return;
  const kernel = gatherKernel(W.dtype);
  for (const ch of W.chunks) {
    pass.dispatch(
      kernel,
      P.pack({ count, cols: W.cols, row0: ch.row0, rows: ch.rows, outRow0 }),
      [ids, ch.buffer, out.buffer],
      grid(Math.ceil((count * W.cols) / WG)),
    );
  }
}

export function uploadIds(rt: GpuRuntime, ids: number[]): GPUBuffer {
  const b = rt.acquire(Math.max(ids.length, 1) * 4);
  rt.device.queue.writeBuffer(b, 0, Uint32Array.from(ids));
  return b;
}
