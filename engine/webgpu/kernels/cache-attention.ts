// Attention of a chunk of T new tokens (a session's prefill, or a decode step that records taps) over
// [the layer's KV cache ; the chunk's own K/V], with the Hymba mask (attention.ts). The fused kernel of attention.ts
// (its body, fusedAttentionWgsl: thread mapping, online softmax); only where a key comes from differs:
//   position k < pos0 (held before this chunk): cache slot k for meta positions and global layers (slot = position),
//                                                numMeta + (k − numMeta) mod ring for an SWA ring;
//   position k ≥ pos0 (this chunk):             row k − pos0 of the chunk's K/V.
// The session writes the chunk's K/V into the cache only after every layer of the chunk has attended
// (kv-commit below), so a long prompt's early queries still see keys that the ring will drop.

import { attentionFields, attentionValues, fusedAttentionWgsl } from './attention.ts';
import { flatWorkgroup } from './common.ts';
import { uniforms } from './uniforms.ts';
import { grid, type GpuTensor, type Kernel, type Pass } from '../runtime.ts';

/** ring: the SWA ring's text slots (0: slot = position). */
const P = uniforms({ ...attentionFields, ring: 'u32' });
const COMMIT = uniforms({ T: 'u32', pos0: 'u32', numMeta: 'u32', ring: 'u32', width: 'u32' });

const WG = 64;

function cacheAttentionKernel(dqk: number, dv: number): Kernel {
  return {
    name: `cache-attention-${dqk}-${dv}`,
    bindings: ['read', 'read', 'read', 'read', 'read', 'rw'],
    wgsl: /* wgsl */ `
${P.wgsl}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> cacheK: array<f32>;
@group(0) @binding(5) var<storage, read> cacheV: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
const DQK = ${dqk}u;
const DV = ${dv}u;
fn slot(key: u32) -> u32 {
  if (key < p.numMeta || p.ring == 0u) { return key; }
  return p.numMeta + (key - p.numMeta) % p.ring;
}
fn kval(k0: u32, key: u32, g: u32, i: u32) -> f32 {
  if (key >= p.qPos0) { return k[((key - p.qPos0) * p.kvHeads + g) * DQK + i]; }
  return cacheK[(slot(key) * p.kvHeads + g) * DQK + i];
}
fn vval(k0: u32, key: u32, g: u32, i: u32) -> f32 {
  if (key >= p.qPos0) { return v[((key - p.qPos0) * p.kvHeads + g) * DV + i]; }
  return cacheV[(slot(key) * p.kvHeads + g) * DV + i];
}
${fusedAttentionWgsl(dv)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  attend(wg.x, wg.y, lid, p.qPos0 + wg.x, 0u);
}`,
  };
}

export interface CacheAttentionShape {
  T: number;
  heads: number;
  kvHeads: number;
  dqk: number;
  dv: number;
  /** Position of the chunk's first row. */
  pos0: number;
  /** null = global (causal only). */
  window: number | null;
  numMeta: number;
  /** Ring slots of an SWA cache, or 0 when slot = position (global layers). */
  ring: number;
}

export function encodeCacheAttention(
  pass: Pass,
  s: CacheAttentionShape,
  q: GpuTensor,
  k: GpuTensor,
  v: GpuTensor,
  cacheK: GPUBuffer,
  cacheV: GPUBuffer,
  out: GpuTensor,
): void {
  if (s.T === 0) return;
  const params = P.pack({ ...attentionValues({ ...s, qPos0: s.pos0 }), ring: s.ring });
  pass.dispatch(cacheAttentionKernel(s.dqk, s.dv), params, [q.buffer, k.buffer, v.buffer, cacheK, cacheV, out.buffer], [s.T, s.heads]);
}

/** Write the chunk's rows (positions pos0 + t) into their cache slots (ring = 0: slot = position). */
const kvCommitKernel: Kernel = {
  name: 'kv-commit',
  bindings: ['read', 'rw'],
  wgsl: /* wgsl */ `
${COMMIT.wgsl}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> rows: array<f32>;
@group(0) @binding(2) var<storage, read_write> cache: array<f32>;
${flatWorkgroup}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_wg(wg, nwg) * ${WG}u + lid;
  if (i >= p.T * p.width) { return; }
  let t = i / p.width;
  let col = i % p.width;
  let pos = p.pos0 + t;
  var s = pos;
  if (pos >= p.numMeta && p.ring != 0u) {
    // A ring keeps only the chunk's newest \`ring\` text rows; older ones would be overwritten within this dispatch.
    if (t + p.ring < p.T) { return; }
    s = p.numMeta + (pos - p.numMeta) % p.ring;
  }
  cache[s * p.width + col] = rows[t * p.width + col];
}`,
};

export function encodeKvCommit(pass: Pass, rows: GpuTensor, cache: GPUBuffer, pos0: number, numMeta: number, ring: number): void {
  const [T, width] = rows.shape;
  const n = T * width;
  if (n > 0) pass.dispatch(kvCommitKernel, COMMIT.pack({ T, pos0, numMeta, ring, width }), [rows.buffer, cache], grid(Math.ceil(n / WG)));
}
