// Attention of ONE new token over a layer's KV cache, split over the cache (flash-decoding), for decode.
//
// Cache layout (session.ts): slot s of a KV owner holds one position's K [kvHeads·dqk] and V [kvHeads·dv] (post-RoPE).
// A decode step sees every held slot (the ring has exactly the window's size, hymba-spec.md §2.10), so no mask is
// needed: slots 0 .. entries−1, the new token's own slot `cur` included. The order of keys does not matter to
// softmax, so a ring needs no position mapping here.
//
// Partial kernel: one workgroup per (split of 64 slots, KV head g). It scores its 64 keys against the G = heads /
// kvHeads query heads that share g (GQA: each K/V row is read once for all G heads), and writes per query head the
// unnormalised output Σ exp(s − m)·v, the local max m and the local sum l. The query is read raw from in_proj's
// output and rotated here (RoPE at `pos`); the owner's new key likewise: its slot is read from in_proj's output,
// never from the cache, and the workgroup whose split holds that slot writes the rotated K and V into the cache
// (no other workgroup of the dispatch reads it). A consumer layer (KV reuse) binds its producer's cache; its cur
// slot is NONE and every slot comes from the cache.
// Combine kernel: one workgroup per query head merges the splits: out = Σ_s e^{m_s−M}·o_s / Σ_s e^{m_s−M}·l_s.

import { f32bits, type Kernel } from '../runtime.ts';

export const SPLIT = 64;
export const NONE = 0xffffffff;

export interface DecodeAttentionShape {
  dqk: number;
  dv: number;
  /** Query heads per KV head. */
  group: number;
}

export function attentionPartialKernel(s: DecodeAttentionShape): Kernel {
  const { dqk: DQK, dv: DV, group: G } = s;
  const half = DQK / 2;
  const per = Math.ceil(DV / SPLIT);
  return {
    name: `decode-attention-${DQK}-${DV}-${G}`,
    bindings: ['read', 'read', 'rw', 'rw', 'rw'],
    wgsl: /* wgsl */ `
struct Params { heads: u32, kvHeads: u32, entries: u32, cur: u32, pos: u32, nsplit: u32, qOff: u32, kOff: u32, vOff: u32, scale: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> P: array<f32>;         // in_proj output of this layer (raw Q | K | V …)
@group(0) @binding(2) var<storage, read> cosSin: array<f32>;    // RoPE table [position, dqk/2, 2]
@group(0) @binding(3) var<storage, read_write> cacheK: array<f32>;
@group(0) @binding(4) var<storage, read_write> cacheV: array<f32>;
@group(0) @binding(5) var<storage, read_write> part: array<f32>; // [heads, nsplit, dv + 2]
const DQK = ${DQK}u;
const DV = ${DV}u;
const HALF = ${half}u;
const G = ${G}u;
const NONE = ${NONE}u;
var<workgroup> qs: array<f32, ${G * DQK}>;
var<workgroup> knew: array<f32, ${DQK}>;
var<workgroup> sc: array<f32, ${G * SPLIT}>;
var<workgroup> ml: array<f32, ${2 * G}>;
fn rot(base: u32, j: u32) -> vec2f {
  let cs = (p.pos * HALF + j) * 2u;
  let c = cosSin[cs];
  let s = cosSin[cs + 1u];
  let a = P[base + j];
  let b = P[base + j + HALF];
  return vec2f(a * c - b * s, b * c + a * s);
}
@compute @workgroup_size(${SPLIT})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let split = wg.x;
  let g = wg.y;
  let owner = p.cur != NONE;
  for (var i = lid; i < G * HALF; i += ${SPLIT}u) {
    let hh = i / HALF;
    let j = i % HALF;
    let r = rot(p.qOff + (g * G + hh) * DQK, j);
    qs[hh * DQK + j] = r.x;
    qs[hh * DQK + j + HALF] = r.y;
  }
  if (owner) {
    for (var j = lid; j < HALF; j += ${SPLIT}u) {
      let r = rot(p.kOff + g * DQK, j);
      knew[j] = r.x;
      knew[j + HALF] = r.y;
    }
  }
  workgroupBarrier();
  let s0 = split * ${SPLIT}u;
  let count = min(${SPLIT}u, p.entries - s0);
  if (owner && p.cur >= s0 && p.cur < s0 + ${SPLIT}u) {
    for (var i = lid; i < DQK; i += ${SPLIT}u) { cacheK[(p.cur * p.kvHeads + g) * DQK + i] = knew[i]; }
    for (var i = lid; i < DV; i += ${SPLIT}u) { cacheV[(p.cur * p.kvHeads + g) * DV + i] = P[p.vOff + g * DV + i]; }
  }
  let slot = s0 + lid;
  let scale = bitcast<f32>(p.scale);
  for (var hh = 0u; hh < G; hh++) { sc[hh * ${SPLIT}u + lid] = -3.0e38; }
  if (lid < count) {
    var d: array<f32, ${G}>;
    let kb = (slot * p.kvHeads + g) * DQK;
    for (var i = 0u; i < DQK; i++) {
      var kv = 0.0;
      if (slot == p.cur) { kv = knew[i]; } else { kv = cacheK[kb + i]; }
      for (var hh = 0u; hh < G; hh++) { d[hh] += qs[hh * DQK + i] * kv; }
    }
    for (var hh = 0u; hh < G; hh++) { sc[hh * ${SPLIT}u + lid] = d[hh] * scale; }
  }
  workgroupBarrier();
  if (lid < G) {
    var m = -3.0e38;
    for (var j = 0u; j < count; j++) { m = max(m, sc[lid * ${SPLIT}u + j]); }
    var l = 0.0;
    for (var j = 0u; j < count; j++) { l += exp(sc[lid * ${SPLIT}u + j] - m); }
    ml[2u * lid] = m;
    ml[2u * lid + 1u] = l;
  }
  workgroupBarrier();
  for (var hh = 0u; hh < G; hh++) {
    var e = 0.0;
    if (lid < count) { e = exp(sc[hh * ${SPLIT}u + lid] - ml[2u * hh]); }
    sc[hh * ${SPLIT}u + lid] = e;
  }
  workgroupBarrier();
  for (var c = 0u; c < ${per}u; c++) {
    let col = lid + c * ${SPLIT}u;
    if (col < DV) {
      var acc: array<f32, ${G}>;
      for (var j = 0u; j < count; j++) {
        let sj = s0 + j;
        var v = 0.0;
        if (sj == p.cur) { v = P[p.vOff + g * DV + col]; } else { v = cacheV[(sj * p.kvHeads + g) * DV + col]; }
        for (var hh = 0u; hh < G; hh++) { acc[hh] += sc[hh * ${SPLIT}u + j] * v; }
      }
      for (var hh = 0u; hh < G; hh++) { part[((g * G + hh) * p.nsplit + split) * (DV + 2u) + col] = acc[hh]; }
    }
  }
  if (lid < G) {
    let b = ((g * G + lid) * p.nsplit + split) * (DV + 2u) + DV;
    part[b] = ml[2u * lid];
    part[b + 1u] = ml[2u * lid + 1u];
  }
}`,
  };
}

export function attentionPartialParams(a: {
  heads: number;
  kvHeads: number;
  entries: number;
  cur: number;
  pos: number;
  qOff: number;
  kOff: number;
  vOff: number;
  dqk: number;
}): number[] {
  return [a.heads, a.kvHeads, a.entries, a.cur, a.pos, splits(a.entries), a.qOff, a.kOff, a.vOff, f32bits(1 / Math.sqrt(a.dqk))];
}

export const splits = (entries: number): number => Math.ceil(entries / SPLIT);

export function attentionCombineKernel(dv: number): Kernel {
  return {
    name: `decode-attention-combine-${dv}`,
    bindings: ['read', 'rw'],
    wgsl: /* wgsl */ `
struct Params { nsplit: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;   // [heads · dv], head-major
const DV = ${dv}u;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wg.x;
  let base = h * p.nsplit * (DV + 2u);
  var M = -3.0e38;
  for (var s = 0u; s < p.nsplit; s++) { M = max(M, part[base + s * (DV + 2u) + DV]); }
  var L = 0.0;
  for (var s = 0u; s < p.nsplit; s++) {
    let b = base + s * (DV + 2u);
    L += exp(part[b + DV] - M) * part[b + DV + 1u];
  }
  for (var col = lid; col < DV; col += 64u) {
    var o = 0.0;
    for (var s = 0u; s < p.nsplit; s++) {
      let b = base + s * (DV + 2u);
      o += exp(part[b + DV] - M) * part[b + col];
    }
    out[h * DV + col] = o / L;
  }
}`,
  };
}
