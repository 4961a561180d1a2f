// Attention of a chunk of T new tokens (a session's prefill, or a decode step that records taps) over
// [the layer's KV cache ; the chunk's own K/V], with the Hymba mask (attention.ts). Same thread mapping and online
// softmax as the fused kernel of attention.ts; only where a key comes from differs:
//   position k < pos0 (held before this chunk): cache slot k for meta positions and global layers (slot = position),
//                                                numMeta + (k − numMeta) mod ring for an SWA ring;
//   position k ≥ pos0 (this chunk):             row k − pos0 of the chunk's K/V.
// The session writes the chunk's K/V into the cache only after every layer of the chunk has attended
// (kv-commit below), so a long prompt's early queries still see keys that the ring will drop.

import { attentionFields, GLOBAL, keyRunsWgsl } from './attention.ts';
import { flatWorkgroup } from './common.ts';
import { uniforms } from './uniforms.ts';
import { grid, type GpuTensor, type Kernel, type Pass } from '../runtime.ts';

/** ring: the SWA ring's text slots (0: slot = position). */
const P = uniforms({ ...attentionFields, ring: 'u32' });
const COMMIT = uniforms({ T: 'u32', pos0: 'u32', numMeta: 'u32', ring: 'u32', width: 'u32' });

const WG = 64;

function cacheAttentionKernel(dqk: number, dv: number): Kernel {
  const per = Math.ceil(dv / WG);
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
const NEG = -3.0e38;
var<workgroup> qs: array<f32, DQK>;
var<workgroup> pw: array<f32, ${WG}>;
var<workgroup> red: array<f32, ${WG}>;
${keyRunsWgsl}
fn slot(key: u32) -> u32 {
  if (key < p.numMeta || p.ring == 0u) { return key; }
  return p.numMeta + (key - p.numMeta) % p.ring;
}
fn kval(key: u32, g: u32, i: u32) -> f32 {
  if (key >= p.qPos0) { return k[((key - p.qPos0) * p.kvHeads + g) * DQK + i]; }
  return cacheK[(slot(key) * p.kvHeads + g) * DQK + i];
}
fn vval(key: u32, g: u32, i: u32) -> f32 {
  if (key >= p.qPos0) { return v[((key - p.qPos0) * p.kvHeads + g) * DV + i]; }
  return cacheV[(slot(key) * p.kvHeads + g) * DV + i];
}
fn reduce(lid: u32, x: f32, isMax: bool) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = select(red[lid] + red[lid + s], max(red[lid], red[lid + s]), isMax); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = wg.x;
  let h = wg.y;
  let g = h / (p.heads / p.kvHeads);
  let qp = p.qPos0 + t;
  let scale = p.scale;
  for (var i = lid; i < DQK; i += ${WG}u) { qs[i] = q[(t * p.heads + h) * DQK + i]; }
  workgroupBarrier();
  let runs = key_runs(qp, p.window, p.numMeta);
  let total = runs.x + (qp + 1u - runs.y);
  var m = NEG;
  var l = 0.0;
  var acc: array<f32, ${per}>;
  for (var j0 = 0u; j0 < total; j0 += ${WG}u) {
    let j = j0 + lid;
    var s = NEG;
    if (j < total) {
      let key = select(runs.y + (j - runs.x), j, j < runs.x);
      var dot = 0.0;
      for (var i = 0u; i < DQK; i++) { dot += qs[i] * kval(key, g, i); }
      s = dot * scale;
    }
    let mNew = max(m, reduce(lid, s, true));
    let alpha = exp(m - mNew);
    var e = 0.0;
    if (j < total) { e = exp(s - mNew); }
    pw[lid] = e;
    l = l * alpha + reduce(lid, e, false);
    m = mNew;
    let n = min(${WG}u, total - j0);
    for (var c = 0u; c < ${per}u; c++) {
      let col = lid + c * ${WG}u;
      if (col < DV) {
        var a = acc[c] * alpha;
        for (var jj = 0u; jj < n; jj++) {
          let jk = j0 + jj;
          let key = select(runs.y + (jk - runs.x), jk, jk < runs.x);
          a += pw[jj] * vval(key, g, col);
        }
        acc[c] = a;
      }
    }
    workgroupBarrier();
  }
  for (var c = 0u; c < ${per}u; c++) {
    let col = lid + c * ${WG}u;
    if (col < DV) { out[(t * p.heads + h) * DV + col] = acc[c] / l; }
  }
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
  const params = P.pack({
    T: s.T,
    heads: s.heads,
    kvHeads: s.kvHeads,
    qPos0: s.pos0,
    window: s.window ?? GLOBAL,
    numMeta: s.numMeta,
    scale: 1 / Math.sqrt(s.dqk),
    ring: s.ring,
  });
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
