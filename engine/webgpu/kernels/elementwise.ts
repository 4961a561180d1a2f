// Small elementwise kernels, one thread per element:
//   add:       out = a + b                         (the residual adds)
//   swiglu:    g = SiLU(g) ⊙ u   (in place in g)   (the MLP's gated activation)
//   softplus:  x = softplus(x + bias[col])  (in place) with Mamba's shortcut x > 20 → x   (Δ after dt_proj)
//   gate:      y = y ⊙ SiLU(z)   (in place in y; z a strided view of in_proj)   (the SSM output gate)

import { flatWorkgroup, siluWgsl } from './common.ts';
import { grid, type GpuTensor, type Kernel, type Pass } from '../runtime.ts';
import type { View } from './rmsnorm.ts';
import { uniforms } from './uniforms.ts';

const P = uniforms({ count: 'u32', cols: 'u32', zOffset: 'u32', zStride: 'u32' });

const WG = 64;

function elementwise(name: string, bindings: Kernel['bindings'], decl: string, body: string): Kernel {
  return {
    name,
    bindings,
    wgsl: /* wgsl */ `
${P.wgsl}
@group(0) @binding(0) var<uniform> p: Params;
${decl}
${flatWorkgroup}
${siluWgsl}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_wg(wg, nwg) * ${WG}u + lid;
  if (i >= p.count) { return; }
  ${body}
}`,
  };
}

const addKernel = elementwise(
  'add',
  ['read', 'read', 'rw'],
  `@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;`,
  'out[i] = a[i] + b[i];',
);

const swigluKernel = elementwise(
  'swiglu',
  ['rw', 'read'],
  `@group(0) @binding(1) var<storage, read_write> g: array<f32>;
@group(0) @binding(2) var<storage, read> u: array<f32>;`,
  'g[i] = silu(g[i]) * u[i];',
);

// log(1 + exp(v)) loses everything below f32's epsilon near 1; for v < −15, softplus(v) = exp(v) to f32 precision.
const softplusKernel = elementwise(
  'softplus-bias',
  ['rw', 'read'],
  `@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;`,
  `let v = x[i] + bias[i % p.cols];
  var r = v;
  if (v <= 20.0) { r = select(log(1.0 + exp(v)), exp(v), v < -15.0); }
  x[i] = r;`,
);

const gateKernel = elementwise(
  'gate',
  ['rw', 'read'],
  `@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> z: array<f32>;`,
  'y[i] = y[i] * silu(z[p.zOffset + (i / p.cols) * p.zStride + i % p.cols]);',
);

const groups = (count: number) => grid(Math.ceil(count / WG));

export function encodeAdd(pass: Pass, a: GpuTensor, b: GpuTensor, out: GpuTensor, count: number): void {
  if (count > 0)
    pass.dispatch(addKernel, P.pack({ count, cols: 1, zOffset: 0, zStride: 0 }), [a.buffer, b.buffer, out.buffer], groups(count));
}
export function encodeSwiglu(pass: Pass, g: GpuTensor, u: GpuTensor, count: number): void {
  if (count > 0) pass.dispatch(swigluKernel, P.pack({ count, cols: 1, zOffset: 0, zStride: 0 }), [g.buffer, u.buffer], groups(count));
}
export function encodeSoftplusBias(pass: Pass, x: GpuTensor, bias: GPUBuffer, rows: number, cols: number): void {
  if (rows * cols > 0)
    pass.dispatch(softplusKernel, P.pack({ count: rows * cols, cols, zOffset: 0, zStride: 0 }), [x.buffer, bias], groups(rows * cols));
}
export function encodeGate(pass: Pass, y: GpuTensor, z: View, rows: number, cols: number): void {
  if (rows * cols > 0)
    pass.dispatch(
      gateKernel,
      P.pack({ count: rows * cols, cols, zOffset: z.offset, zStride: z.stride }),
      [y.buffer, z.buffer],
      groups(rows * cols),
    );
}
