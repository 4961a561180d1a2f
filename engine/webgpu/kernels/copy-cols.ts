// Copy a strided [rows, cols] view into a contiguous tensor (V and the SSM input x are column blocks of in_proj;
// they are taps, so they get their own buffer). One thread per element.

import { flatWorkgroup } from './common.ts';
import { grid, type GpuTensor, type Kernel, type Pass } from '../runtime.ts';
import type { View } from './rmsnorm.ts';
import { uniforms } from './uniforms.ts';

export const copyColsUniforms = uniforms({ rows: 'u32', cols: 'u32', xOffset: 'u32', xStride: 'u32' });
const P = copyColsUniforms;

const WG = 64;

export const copyColsKernel: Kernel = {
  name: 'copy-cols',
  bindings: ['read', 'rw'],
  wgsl: /* wgsl */ `
${P.wgsl}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${flatWorkgroup}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_wg(wg, nwg) * ${WG}u + lid;
  if (i >= p.rows * p.cols) { return; }
  out[i] = x[p.xOffset + (i / p.cols) * p.xStride + i % p.cols];
}`,
};

export function encodeCopyCols(pass: Pass, x: View, rows: number, cols: number, out: GpuTensor): void {
  if (rows * cols === 0) return;
  pass.dispatch(
    copyColsKernel,
    P.pack({ rows, cols, xOffset: x.offset, xStride: x.stride }),
    [x.buffer, out.buffer],
    grid(Math.ceil((rows * cols) / WG)),
  );
}
