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

import { type Kernel } from '../runtime.ts';
import type { WeightDType } from '../weights.ts';
import { weightDecl } from './common.ts';
import { dot8Wgsl, vectorised } from './gemv.ts';
import { uniforms } from './uniforms.ts';

/** sOff, xRows: the merged x_proj's output offset in the partials buffer and its rows (0 without it). */
const P = uniforms({
  heads: 'u32',
  kvHeads: 'u32',
  entries: 'u32',
  cur: 'u32',
  pos: 'u32',
  nsplit: 'u32',
  qOff: 'u32',
  kOff: 'u32',
  vOff: 'u32',
  scale: 'f32',
  sOff: 'u32',
  xRows: 'u32',
});
const COMBINE = uniforms({ nsplit: 'u32' });

/** Cache slots per workgroup: 16 halves each workgroup's serial chain (scores, softmax, values) against 32. */
const SPLIT = 16;
export const NONE = 0xffffffff;

export interface DecodeAttentionShape {
  dqk: number;
  dv: number;
  /** Query heads per KV head. */
  group: number;
}

/** Threads per workgroup (partials and the merged x_proj rows). H200, 1 k context: 128 took the partials from 9.5 to
 * 7.6 µs and the merged dispatch from 9.8 to 8.8 µs against 64 (bench/results/h200-run10-attention/). */
const THREADS = 128;

/**
 * Thread mapping (THREADS threads, SPLIT slots): scores — THREADS / SPLIT threads per slot, each a part of the dqk dims for all
 * G heads (16-byte loads when a part is a whole number of vec4s), summed in workgroup memory; values — thread t owns
 * the vec4 column t mod (dv/4) and every (THREADS/(dv/4))-th slot, the slot subsets summed in workgroup memory at the end.
 * Many independent loads per thread, few serial ones: the kernel is latency-bound otherwise.
 */
export function attentionPartialKernel(s: DecodeAttentionShape, xProj?: XProjShape): Kernel {
  const { dqk: DQK, dv: DV, group: G } = s;
  const half = DQK / 2;
  // Scores: TPS threads per slot, each PART of the dqk dims (fewer when dqk does not divide; spare threads idle).
  let TPS = THREADS / SPLIT;
  while (DQK % TPS !== 0) TPS /= 2;
  const PART = DQK / TPS;
  const kVec = PART % 4 === 0;
  const v4 = DV / 4;
  const vVec = DV % 4 === 0 && v4 <= THREADS && THREADS % v4 === 0;
  const subsets = vVec ? THREADS / v4 : 1;
  const kElem = kVec ? 'vec4<f32>' : 'f32';
  const vElem = vVec ? 'vec4<f32>' : 'f32';
  const KPT = kVec ? PART / 4 : PART;
  const kDot = kVec
    ? `for (var i = 0u; i < ${PART / 4}u; i++) {
        let kv = select(kk[i], vec4f(knew[d0 + 4u * i], knew[d0 + 4u * i + 1u], knew[d0 + 4u * i + 2u], knew[d0 + 4u * i + 3u]), isCur);
        for (var hh = 0u; hh < G; hh++) {
          let qb = hh * DQK + d0 + 4u * i;
          d[hh] += dot(vec4f(qs[qb], qs[qb + 1u], qs[qb + 2u], qs[qb + 3u]), kv);
        }
      }`
    : `for (var i = 0u; i < ${PART}u; i++) {
        let kv = select(kk[i], knew[d0 + i], isCur);
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
  const VPT = Math.ceil(SPLIT / subsets);
  // vVec: this thread's V rows (its column c4 of slots sub, sub + subsets, …), loaded at the start with the keys.
  const loadV = vVec
    ? `let c4 = lid % ${v4}u;
  let sub = lid / ${v4}u;
  var vv: array<vec4f, ${VPT}>;
  for (var k = 0u; k < ${VPT}u; k++) {
    let jj = sub + k * ${subsets}u;
    let sj = s0 + jj;
    if (jj < count) {
      if (sj == p.cur) { vv[k] = ${newV('4u * c4')}; } else { vv[k] = cacheV[(sj * p.kvHeads + g) * ${v4}u + c4]; }
    }
  }`
    : '';
  const values = vVec
    ? `var acc: array<vec4f, ${G}>;
  for (var k = 0u; k < ${VPT}u; k++) {
    let jj = sub + k * ${subsets}u;
    if (jj < count) {
      for (var hh = 0u; hh < G; hh++) { acc[hh] += sc[hh * ${SPLIT}u + jj] * vv[k]; }
    }
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
    // Zeroed explicitly: a declaration without initializer inside the loop kept the previous column's sums here
    // (SwiftShader), so every column after the first (DV > 64) was wrong.
    var acc = array<f32, ${G}>();
    for (var j = 0u; j < count; j++) {
      let sj = s0 + j;
      var v = 0.0;
      if (sj == p.cur) { v = P[p.vOff + g * DV + col]; } else { v = cacheV[(sj * p.kvHeads + g) * DV + col]; }
      for (var hh = 0u; hh < G; hh++) { acc[hh] += sc[hh * ${SPLIT}u + j] * v; }
    }
    for (var hh = 0u; hh < G; hh++) { part[((g * G + hh) * p.nsplit + split) * (DV + 2u) + col] = acc[hh]; }
  }`;
  // Alone: workgroup (split, g). With x_proj: a flat workgroup index, the attention's nsplit·kvHeads workgroups
  // first, then one per x_proj row (workgroup_id is uniform, so the barriers inside either branch are legal).
  const entry = xProj
    ? `${xProjWgsl(xProj)}
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let id = wg.y * nwg.x + wg.x;
  let n = p.nsplit * p.kvHeads;
  if (id < n) {
    attend(id % p.nsplit, id / p.nsplit, lid);
  } else if (id - n < p.xRows) {
    xproj(id - n, lid);
  }
}`
    : `@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  attend(wg.x, wg.y, lid);
}`;
  return {
    name: `decode-attention-${DQK}-${DV}-${G}${kVec ? '-kvec' : ''}${vVec ? '-vvec' : ''}${xProj ? `+xproj-${xProj.dtype}-${xProj.K}` : ''}`,
    bindings: ['read', 'read', 'rw', 'rw', 'rw', ...(xProj ? (['read', 'read'] as const) : [])],
    wgsl: /* wgsl */ `
${P.wgsl}
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
fn attend(split: u32, g: u32, lid: u32) {
  let owner = p.cur != NONE;
  let s0 = split * ${SPLIT}u;
  let count = min(${SPLIT}u, p.entries - s0);
  // The cached keys and values do not depend on the query: loaded first, so their latency overlaps the RoPE and
  // the barriers before their use (the kernel is a latency chain). Scores: slot lid / TPS, part lid % TPS of the dims.
  let j = lid / ${TPS}u;
  let d0 = (lid % ${TPS}u) * ${PART}u;
  let slot = s0 + j;
  var kk: array<${kElem}, ${KPT}>;
  if (j < count && slot != p.cur) {
    let kb = ${kIndex};
    for (var i = 0u; i < ${KPT}u; i++) { kk[i] = cacheK[kb + i]; }
  }
  ${loadV}
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
  // The workgroup whose split holds the new token's slot writes its K and V (nobody else reads that slot here).
  if (owner && p.cur >= s0 && p.cur < s0 + ${SPLIT}u) {
    ${writeK}
    ${writeV}
  }
  var d: array<f32, ${G}>;
  if (j < count) {
    let isCur = slot == p.cur;
    ${kDot}
  }
  for (var hh = 0u; hh < G; hh++) { sc2[hh * ${THREADS}u + lid] = d[hh]; }
  workgroupBarrier();
  let scale = p.scale;
  for (var i = lid; i < G * ${SPLIT}u; i += ${THREADS}u) {
    let hh = i / ${SPLIT}u;
    let jj = i % ${SPLIT}u;
    var t = 0.0;
    for (var u = 0u; u < ${TPS}u; u++) { t += sc2[hh * ${THREADS}u + ${TPS}u * jj + u]; }
    sc[i] = t * scale;
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
}
${entry}`,
  };
}

/** x_proj merged into the attention dispatch (hybrid layers): s = W · xc, K = E inputs, into part[sOff ..]. */
export interface XProjShape {
  dtype: WeightDType;
  K: number;
}

/**
 * One x_proj row per workgroup of THREADS threads: W as 16-byte words where a row is whole words (all of a thread's
 * loads in flight at once), else one value at a time; the partial sums reduced in workgroup memory.
 */
function xProjWgsl({ dtype, K }: XProjShape): string {
  const vec = vectorised(dtype, K);
  const packed = dtype !== 'F32';
  const words = packed ? K / 8 : K / 4;
  // Every word of the thread's share is loaded before any is used (all loads in flight at once: one row per
  // workgroup leaves too few threads to hide the memory latency otherwise); a share past the row end is clamped and
  // not counted.
  const per = Math.ceil(words / THREADS);
  const wordAt = (u: number) => `min(lid + ${u * THREADS}u, ${words - 1}u)`;
  const loads = Array.from({ length: per }, (_, u) => `let w${u} = wx[base + ${wordAt(u)}];`).join('\n  ');
  const sums = Array.from({ length: per }, (_, u) => {
    const i = wordAt(u);
    const t = packed ? `dot8(w${u}, xc[2u * ${i}], xc[2u * ${i} + 1u])` : `dot(w${u}, xc[${i}])`;
    return `if (lid + ${u * THREADS}u < ${words}u) { acc += ${t}; }`;
  }).join('\n  ');
  const body = vec
    ? `let base = row * ${words}u;
  ${loads}
  ${sums}`
    : `for (var k = lid; k < ${K}u; k += ${THREADS}u) { acc += w_load(row * ${K}u + k) * xc[k]; }`;
  const decl = vec
    ? `@group(0) @binding(6) var<storage, read> xc: array<vec4f>;
@group(0) @binding(7) var<storage, read> wx: array<${packed ? 'vec4<u32>' : 'vec4f'}>;
${packed ? dot8Wgsl(dtype) : ''}`
    : `@group(0) @binding(6) var<storage, read> xc: array<f32>;
${weightDecl(dtype, 7)}`;
  return `${decl}
var<workgroup> xred: array<f32, ${THREADS}>;
fn xproj(row: u32, lid: u32) {
  var acc = 0.0;
  ${body}
  xred[lid] = acc;
  workgroupBarrier();
  for (var st = ${THREADS / 2}u; st > 0u; st >>= 1u) {
    if (lid < st) { xred[lid] += xred[lid + st]; }
    workgroupBarrier();
  }
  if (lid == 0u) { part[p.sOff + row] = xred[0]; }
}`;
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
  /** Merged x_proj: its output's offset in the partials buffer, and its rows. */
  sOff?: number;
  xRows?: number;
}): number[] {
  return P.pack({
    heads: a.heads,
    kvHeads: a.kvHeads,
    entries: a.entries,
    cur: a.cur,
    pos: a.pos,
    nsplit: splits(a.entries),
    qOff: a.qOff,
    kOff: a.kOff,
    vOff: a.vOff,
    scale: 1 / Math.sqrt(a.dqk),
    sOff: a.sOff ?? 0,
    xRows: a.xRows ?? 0,
  });
}

export const attentionCombineParams = (entries: number): number[] => COMBINE.pack({ nsplit: splits(entries) });

export const splits = (entries: number): number => Math.ceil(entries / SPLIT);

/** Most attention splits a session may need (8 k context at 16 slots per split needs 528; 2048 allow 32 k). */
export const MAX_SPLITS = 2048;

export function attentionCombineKernel(dv: number): Kernel {
  return {
    name: `decode-attention-combine-${dv}`,
    bindings: ['read', 'rw'],
    wgsl: /* wgsl */ `
${COMBINE.wgsl}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;   // [heads · dv], head-major
${combineWgsl(dv, 128, 'part', 'out')}
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  combine(wg.x, lid, p.nsplit);
}`,
  };
}

/**
 * `fn combine(h, lid, nsplit)`: query head h's output from its splits' partials in `src` (at offset 0), into
 * `dst[h·dv ..]`, by a workgroup of T threads (any T; decode-ssm.ts runs it with the SSM step's workgroup). The global
 * max M and sum L are one tree reduction of (m, l) pairs (l rescaled when two merge). Then, where dv/4 ≤ T, thread t
 * owns the 4 columns t mod (dv/4) and every SUBS-th split, so each thread has many independent loads (the combine is
 * latency-bound: 36 splits at 1 k context), and the SUBS partial sums meet in workgroup memory; else each thread
 * sums whole columns over all splits.
 */
export function combineWgsl(dv: number, T: number, src: string, dst: string): string {
  const T2 = 2 ** Math.ceil(Math.log2(T));
  const c4 = dv / 4;
  const vec = dv % 4 === 0 && c4 <= T;
  const SUBS = vec ? Math.floor(T / c4) : 1;
  const AHEAD = 8;
  const splitLoads = Array.from({ length: AHEAD }, (_, k) => {
    const b = `base + min(sp + ${k * SUBS}u, nsplit - 1u) * (CDV + 2u) + 4u * c4`;
    return `let b${k} = ${b};
      let m${k} = ${src}[b${k} - 4u * c4 + CDV];
      let v${k} = vec4f(${src}[b${k}], ${src}[b${k} + 1u], ${src}[b${k} + 2u], ${src}[b${k} + 3u]);`;
  }).join('\n      ');
  const splitSums = Array.from({ length: AHEAD }, (_, k) => `if (sp + ${k * SUBS}u < nsplit) { o += exp(m${k} - M) * v${k}; }`).join(
    '\n      ',
  );
  const values = vec
    ? `let c4 = lid % ${c4}u;
  let sub = lid / ${c4}u;
  var o = vec4f(0.0);
  if (sub < ${SUBS}u) {
    // ${AHEAD} splits' loads in flight per iteration (clamped past the end, not counted): a plain loop issues one
    // split's loads per L2 round trip, and there are nsplit / SUBS of them per thread.
    for (var sp = sub; sp < nsplit; sp += ${AHEAD * SUBS}u) {
      ${splitLoads}
      ${splitSums}
    }
  }
  cvals[lid] = o;
  workgroupBarrier();
  if (lid < ${c4}u) {
    var t = vec4f(0.0);
    for (var u = 0u; u < ${SUBS}u; u++) { t += cvals[u * ${c4}u + lid]; }
    t = t / L;
    let d = h * CDV + 4u * lid;
    ${dst}[d] = t.x;
    ${dst}[d + 1u] = t.y;
    ${dst}[d + 2u] = t.z;
    ${dst}[d + 3u] = t.w;
  }`
    : `for (var col = lid; col < CDV; col += ${T}u) {
    var o = 0.0;
    for (var sp = 0u; sp < nsplit; sp++) {
      let b = base + sp * (CDV + 2u);
      o += exp(${src}[b + CDV] - M) * ${src}[b + col];
    }
    ${dst}[h * CDV + col] = o / L;
  }`;
  return `const CDV = ${dv}u;
var<workgroup> cred: array<vec2f, ${T}>;
${vec ? `var<workgroup> cvals: array<vec4f, ${T}>;` : ''}
fn merge_ml(a: vec2f, b: vec2f) -> vec2f {
  let m = max(a.x, b.x);
  return vec2f(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}
fn combine(h: u32, lid: u32, nsplit: u32) {
  let base = h * nsplit * (CDV + 2u);
  var ml = vec2f(-3.0e38, 0.0);
  for (var sp = lid; sp < nsplit; sp += ${T}u) {
    let b = base + sp * (CDV + 2u) + CDV;
    ml = merge_ml(ml, vec2f(${src}[b], ${src}[b + 1u]));
  }
  cred[lid] = ml;
  workgroupBarrier();
  for (var st = ${T2 / 2}u; st > 0u; st >>= 1u) {
    if (lid < st && lid + st < ${T}u) { cred[lid] = merge_ml(cred[lid], cred[lid + st]); }
    workgroupBarrier();
  }
  let M = cred[0].x;
  let L = cred[0].y;
  ${values}
}`;
}
