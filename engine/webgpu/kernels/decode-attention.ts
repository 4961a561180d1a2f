// Attention of ONE new token over a layer's KV cache, split over the cache (flash-decoding), for decode.
//
// Cache layout (session.ts): slot s of a KV owner holds one position's K [kvHeads·dqk] and V [kvHeads·dv] (post-RoPE).
// A decode step sees every held slot (the ring has exactly the window's size, hymba-spec.md §2.10), so no mask is
// needed: slots 0 .. entries−1, the new token's own slot `cur` included. The order of keys does not matter to
// softmax, so a ring needs no position mapping here.
//
// Partial kernel: one workgroup per (split of SPLIT slots, KV head g). It scores its keys against the G = heads /
// kvHeads query heads that share g (GQA: each K/V row is read once for all G heads), and writes per query head the
// unnormalised output Σ exp(s − m)·v, the local max m and the local sum l. The query is read raw from in_proj's
// output and rotated here (RoPE at `pos`); the owner's new key likewise: its slot is read from in_proj's output,
// never from the cache, and the workgroup whose split holds that slot writes the rotated K and V into the cache
// (no other workgroup of the dispatch reads it). A consumer layer (KV reuse) binds its producer's cache; its cur
// slot is NONE and every slot comes from the cache.
// Combine kernel: one workgroup per query head merges the splits: out = Σ_s e^{m_s−M}·o_s / Σ_s e^{m_s−M}·l_s.
// Splits keep long contexts parallel: 8 k tokens are 260 workgroups per KV head instead of one.

import { f32bits, type Kernel } from '../runtime.ts';

export const SPLIT = 32;
export const NONE = 0xffffffff;

export interface DecodeAttentionShape {
  dqk: number;
  dv: number;
  /** Query heads per KV head. */
  group: number;
}

const THREADS = 64;

/**
 * Thread mapping (64 threads, SPLIT = 32 slots): scores — two threads per slot, each a half of the dqk dims for all
 * G heads (16-byte loads when a half is a whole number of vec4s), summed in workgroup memory; values — thread t owns
 * the vec4 column t mod (dv/4) and every (64/(dv/4))-th slot, the slot subsets summed in workgroup memory at the end.
 * Many independent loads per thread, few serial ones: the kernel is latency-bound otherwise.
 */
export function attentionPartialKernel(s: DecodeAttentionShape): Kernel {
  const { dqk: DQK, dv: DV, group: G } = s;
  const half = DQK / 2;
  const kVec = half % 4 === 0;
  const v4 = DV / 4;
  const vVec = DV % 4 === 0 && v4 <= THREADS && THREADS % v4 === 0;
  const subsets = vVec ? THREADS / v4 : 1;
  const kElem = kVec ? 'vec4<f32>' : 'f32';
  const vElem = vVec ? 'vec4<f32>' : 'f32';
  const kDot = kVec
    ? `for (var i = 0u; i < ${half / 4}u; i++) {
        let kv = select(cacheK[kb + i], vec4f(knew[d0 + 4u * i], knew[d0 + 4u * i + 1u], knew[d0 + 4u * i + 2u], knew[d0 + 4u * i + 3u]), isCur);
        for (var hh = 0u; hh < G; hh++) {
          let qb = hh * DQK + d0 + 4u * i;
          d[hh] += dot(vec4f(qs[qb], qs[qb + 1u], qs[qb + 2u], qs[qb + 3u]), kv);
        }
      }`
    : `for (var i = 0u; i < ${half}u; i++) {
        let kv = select(cacheK[kb + i], knew[d0 + i], isCur);
        for (var hh = 0u; hh < G; hh++) { d[hh] += qs[hh * DQK + d0 + i] * kv; }
      }`;
  const kIndex = kVec ? `((slot * p.kvHeads + g) * DQK + d0) / 4u` : `(slot * p.kvHeads + g) * DQK + d0`;
  const writeK = kVec
    ? `for (var i = lid; i < DQK / 4u; i += ${THREADS}u) { cacheK[(p.cur * p.kvHeads + g) * DQK / 4u + i] = vec4f(knew[4u * i], knew[4u * i + 1u], knew[4u * i + 2u], knew[4u * i + 3u]); }`
    : `for (var i = lid; i < DQK; i += ${THREADS}u) { cacheK[(p.cur * p.kvHeads + g) * DQK + i] = knew[i]; }`;
  const newV = (col: string) =>
    `vec4f(P[p.vOff + g * DV + ${col}], P[p.vOff + g * DV + ${col} + 1u], P[p.vOff + g * DV + ${col} + 2u], P[p.vOff + g * DV + ${col} + 3u])`;
  const writeV = vVec
    ? `for (var i = lid; i < DV / 4u; i += ${THREADS}u) { cacheV[(p.cur * p.kvHeads + g) * DV / 4u + i] = ${newV('4u * i')}; }`
    : `for (var i = lid; i < DV; i += ${THREADS}u) { cacheV[(p.cur * p.kvHeads + g) * DV + i] = P[p.vOff + g * DV + i]; }`;
  const values = vVec
    ? `let c4 = lid % ${v4}u;
  let sub = lid / ${v4}u;
  var acc: array<vec4f, ${G}>;
  for (var j = sub; j < count; j += ${subsets}u) {
    let sj = s0 + j;
    var v = vec4f(0.0);
    if (sj == p.cur) { v = ${newV('4u * c4')}; } else { v = cacheV[(sj * p.kvHeads + g) * ${v4}u + c4]; }
    for (var hh = 0u; hh < G; hh++) { acc[hh] += sc[hh * ${SPLIT}u + j] * v; }
  }
  for (var hh = 0u; hh < G; hh++) { vs[(sub * G + hh) * ${v4}u + c4] = acc[hh]; }
  workgroupBarrier();
  for (var i = lid; i < G * ${v4}u; i += ${THREADS}u) {
    let hh = i / ${v4}u;
    let c = i % ${v4}u;
    var o = vec4f(0.0);
    for (var u = 0u; u < ${subsets}u; u++) { o += vs[(u * G + hh) * ${v4}u + c]; }
    let b = ((g * G + hh) * p.nsplit + split) * (DV + 2u) + 4u * c;
    part[b] = o.x;
    part[b + 1u] = o.y;
    part[b + 2u] = o.z;
    part[b + 3u] = o.w;
  }`
    : `for (var col = lid; col < DV; col += ${THREADS}u) {
    var acc: array<f32, ${G}>;
    for (var j = 0u; j < count; j++) {
      let sj = s0 + j;
      var v = 0.0;
      if (sj == p.cur) { v = P[p.vOff + g * DV + col]; } else { v = cacheV[(sj * p.kvHeads + g) * DV + col]; }
      for (var hh = 0u; hh < G; hh++) { acc[hh] += sc[hh * ${SPLIT}u + j] * v; }
    }
    for (var hh = 0u; hh < G; hh++) { part[((g * G + hh) * p.nsplit + split) * (DV + 2u) + col] = acc[hh]; }
  }`;
  return {
    name: `decode-attention-${DQK}-${DV}-${G}${kVec ? '-kvec' : ''}${vVec ? '-vvec' : ''}`,
    bindings: ['read', 'read', 'rw', 'rw', 'rw'],
    wgsl: /* wgsl */ `
struct Params { heads: u32, kvHeads: u32, entries: u32, cur: u32, pos: u32, nsplit: u32, qOff: u32, kOff: u32, vOff: u32, scale: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> P: array<f32>;         // in_proj output of this layer (raw Q | K | V …)
@group(0) @binding(2) var<storage, read> cosSin: array<f32>;    // RoPE table [position, dqk/2, 2]
@group(0) @binding(3) var<storage, read_write> cacheK: array<${kElem}>;
@group(0) @binding(4) var<storage, read_write> cacheV: array<${vElem}>;
@group(0) @binding(5) var<storage, read_write> part: array<f32>; // [heads, nsplit, dv + 2]
const DQK = ${DQK}u;
const DV = ${DV}u;
const HALF = ${half}u;
const G = ${G}u;
const NONE = ${NONE}u;
var<workgroup> qs: array<f32, ${G * DQK}>;
var<workgroup> knew: array<f32, ${DQK}>;
var<workgroup> sc2: array<f32, ${G * THREADS}>;
var<workgroup> sc: array<f32, ${G * SPLIT}>;
var<workgroup> ml: array<f32, ${2 * G}>;
${vVec ? `var<workgroup> vs: array<vec4f, ${subsets * G * v4}>;` : ''}
fn rot(base: u32, j: u32) -> vec2f {
  let cs = (p.pos * HALF + j) * 2u;
  let c = cosSin[cs];
  let s = cosSin[cs + 1u];
  let a = P[base + j];
  let b = P[base + j + HALF];
  return vec2f(a * c - b * s, b * c + a * s);
}
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let split = wg.x;
  let g = wg.y;
  let owner = p.cur != NONE;
  for (var i = lid; i < G * HALF; i += ${THREADS}u) {
    let hh = i / HALF;
    let j = i % HALF;
    let r = rot(p.qOff + (g * G + hh) * DQK, j);
    qs[hh * DQK + j] = r.x;
    qs[hh * DQK + j + HALF] = r.y;
  }
  if (owner) {
    for (var j = lid; j < HALF; j += ${THREADS}u) {
      let r = rot(p.kOff + g * DQK, j);
      knew[j] = r.x;
      knew[j + HALF] = r.y;
    }
  }
  workgroupBarrier();
  let s0 = split * ${SPLIT}u;
  let count = min(${SPLIT}u, p.entries - s0);
  // The workgroup whose split holds the new token's slot writes its K and V (nobody else reads that slot here).
  if (owner && p.cur >= s0 && p.cur < s0 + ${SPLIT}u) {
    ${writeK}
    ${writeV}
  }
  // Scores: slot lid/2, half lid%2 of the dims.
  let j = lid / 2u;
  let d0 = (lid % 2u) * HALF;
  let slot = s0 + j;
  var d: array<f32, ${G}>;
  if (j < count) {
    let isCur = slot == p.cur;
    let kb = ${kIndex};
    ${kDot}
  }
  for (var hh = 0u; hh < G; hh++) { sc2[hh * ${THREADS}u + lid] = d[hh]; }
  workgroupBarrier();
  let scale = bitcast<f32>(p.scale);
  for (var i = lid; i < G * ${SPLIT}u; i += ${THREADS}u) {
    let hh = i / ${SPLIT}u;
    let jj = i % ${SPLIT}u;
    sc[i] = (sc2[hh * ${THREADS}u + 2u * jj] + sc2[hh * ${THREADS}u + 2u * jj + 1u]) * scale;
  }
  workgroupBarrier();
  if (lid < G) {
    var m = -3.0e38;
    for (var k = 0u; k < count; k++) { m = max(m, sc[lid * ${SPLIT}u + k]); }
    var l = 0.0;
    for (var k = 0u; k < count; k++) { l += exp(sc[lid * ${SPLIT}u + k] - m); }
    ml[2u * lid] = m;
    ml[2u * lid + 1u] = l;
  }
  workgroupBarrier();
  for (var i = lid; i < G * ${SPLIT}u; i += ${THREADS}u) {
    let hh = i / ${SPLIT}u;
    var e = 0.0;
    if (i % ${SPLIT}u < count) { e = exp(sc[i] - ml[2u * hh]); }
    sc[i] = e;
  }
  workgroupBarrier();
  ${values}
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

/** Splits the combine kernel holds in workgroup memory (8 k context at 32 slots per split needs 264). */
export const MAX_SPLITS = 2048;

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
var<workgroup> w: array<f32, ${MAX_SPLITS}>;
var<workgroup> red: array<vec2f, 128>;
// One workgroup per query head: the split weights e^{m_s − M} are computed in parallel into workgroup memory, then
// each thread sums its output columns over the splits (independent loads, no serial chain through global memory).
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wg.x;
  let base = h * p.nsplit * (DV + 2u);
  var m = -3.0e38;
  for (var s = lid; s < p.nsplit; s += 128u) { m = max(m, part[base + s * (DV + 2u) + DV]); }
  red[lid] = vec2f(m, 0.0);
  workgroupBarrier();
  for (var st = 64u; st > 0u; st >>= 1u) {
    if (lid < st) { red[lid].x = max(red[lid].x, red[lid + st].x); }
    workgroupBarrier();
  }
  let M = red[0].x;
  workgroupBarrier();
  var l = 0.0;
  for (var s = lid; s < p.nsplit; s += 128u) {
    let b = base + s * (DV + 2u);
    let e = exp(part[b + DV] - M);
    w[s] = e;
    l += e * part[b + DV + 1u];
  }
  red[lid] = vec2f(l, 0.0);
  workgroupBarrier();
  for (var st = 64u; st > 0u; st >>= 1u) {
    if (lid < st) { red[lid].x += red[lid + st].x; }
    workgroupBarrier();
  }
  let L = red[0].x;
  for (var col = lid; col < DV; col += 128u) {
    var o = 0.0;
    for (var s = 0u; s < p.nsplit; s++) { o += w[s] * part[base + s * (DV + 2u) + col]; }
    out[h * DV + col] = o / L;
  }
}`,
  };
}
