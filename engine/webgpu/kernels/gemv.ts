// Fused matrix–vector products for decode (one token): y = W · f(x), with the op before (prologue) and after
// (epilogue) folded in, so one layer of decode needs few dispatches (docs/performance.md).
//
// Thread mapping: a workgroup of 256 threads computes ROWS consecutive rows of W; each row is the dot product of
// 256/ROWS threads, reduced in workgroup memory. When a row is a whole number of 16-byte words (8 bf16/f16 values,
// 4 f32) the weights are read as vec4<u32>/vec4<f32> and the activations as vec4<f32>: one 16-byte load per thread
// per step, consecutive threads on consecutive words (coalesced). Otherwise a scalar path reads one value at a time.
// `solo` (the 'cpu-like' kernel profile, runtime.ts): one invocation per row, each computing its prologue's
// statistics itself: no workgroup memory, no barriers (a CPU implementation runs those as costly fiber switches).
//
// Prologues (the GEMV's input, computed per workgroup from L2-resident activations, no extra dispatch):
//   plain: x
//   norm:  RMSNorm(x) ⊙ gain                                  (input_layernorm, pre_moe_layernorm, final norm)
//   fuse:  (β1 ⊙ RMSNorm(attn) + β2 ⊙ RMSNorm(ssm)) / branches  (the mean fusion before out_proj)
//          staged, it is split by linearity: W·m = (s_a·W·(β1 ⊙ attn) + s_y·W·(β2 ⊙ ssm)) / branches, two dot
//          products per row against the two staged inputs, the RMS scales s_a, s_y applied at the end; so the inputs
//          are read once and the scales' workgroup reduction comes after the weight loads (as for norm).
// Epilogues (per row, by the row's first thread):
//   store:    out[r] = y
//   residual: out[r] = resid[r] + y                            (the residual adds after out_proj and down_proj)
//   swiglu:   out[r] = SiLU(W_gate · x)[r] · (W_up · x)[r]      (gate and up in one pass over x)
//   conv:     out[r] = y, and for the rows of the SSM input x (rows xRow0 .. xRow0+E−1 of in_proj) the causal conv
//             step: xc[c] = SiLU(b[c] + Σ_j w[c,j] · window_j) with window = [conv state ; y], then the state shifts.

import { flatWorkgroup, siluWgsl } from './common.ts';
import { grid, type Kernel, type Pass } from '../runtime.ts';
import type { GpuMatrix, WeightDType } from '../weights.ts';
import { uniforms } from './uniforms.ts';

/** A chunk dispatch's uniform (gemvParams); rows xRow0 .. xRow0 + E − 1 get the conv epilogue (0xffffffff: none). */
const P = uniforms({
  K: 'u32',
  rows: 'u32',
  row0: 'u32',
  eps: 'f32',
  hasA: 'u32',
  hasY: 'u32',
  xRow0: 'u32',
  E: 'u32',
  xOff: 'u32',
  wRow0: 'u32',
  outOff: 'u32',
});

/** Threads per workgroup on real GPUs; a CPU emulation (SwiftShader) runs small workgroups much faster. */
const GEMV_THREADS = 256;
/** Rows (one invocation each) per workgroup of a solo GEMV. */
const SOLO_THREADS = 64;
/** 16-byte weight words each thread loads ahead per matrix (the vec path's unrolled loop; GemvVariant.unroll). */
export const UNROLL = 4;

export type Prologue = 'plain' | 'norm' | 'fuse';
export type Epilogue = 'store' | 'residual' | 'swiglu' | 'conv';

export interface GemvVariant {
  dtype: WeightDType;
  K: number;
  rowsPerGroup: number;
  /** Threads per workgroup (a power of two ≥ rowsPerGroup; default GEMV_THREADS). */
  threads?: number;
  prologue: Prologue;
  epilogue: Epilogue;
  /**
   * Stage the prologue's output (K values) in workgroup memory once per workgroup, so the dot products read it from
   * there instead of re-reading (and re-normalising) activations from L2 for every row. Needs 4·K bytes of workgroup
   * storage; see gemvStages().
   */
  stage?: boolean;
  /** One invocation per row, no workgroup memory or barriers (forces rowsPerGroup = threads, no staging). */
  solo?: boolean;
  /** Use the scalar path even when rows are whole 16-byte words (x at an unaligned offset). */
  forceScalar?: boolean;
  /** conv epilogue: taps of the causal conv (d_conv). */
  convTaps?: number;
  /** Weight words loaded ahead per thread and matrix on the vec path (default UNROLL; 1 = one load per iteration). */
  unroll?: number;
  /**
   * Reduce with subgroup operations (the `subgroups` feature; subgroup lanes must be consecutive local indices,
   * which subgroupsUsable() checks): a row's partial sums meet by shuffles, the workgroup's in one round through
   * workgroup memory, instead of log2(threads) barrier rounds.
   */
  subgroups?: boolean;
}

/**
 * Rows per workgroup, from the H200 GEMV lab (bench/labs/gemv-lab.ts, docs/performance.md; cold weights, µs per GEMV):
 * a computed prologue (norm, fuse) is staged once per workgroup, so it wants few, wide workgroups: 16 rows (gate+up
 * 13.7 µs vs 16.8 at 8 rows; out_proj 10.5 vs 13.0 at 8, 20.2 at 4); a plain input wants enough workgroups to fill
 * the GPU: down_proj (1600 rows) 9.9 µs at 4 rows, 13.9 at 8.
 */
export function rowsPerGroup(rows: number, prologue: Prologue = 'plain'): number {
  if (rows >= 8192 || (prologue !== 'plain' && rows >= 1024)) return 16;
  if (rows >= 4096) return 8;
  return 4;
}

/** Whether rows of K values of this dtype can be read as 16-byte words (and x as vec4). */
export function vectorised(dtype: WeightDType, K: number): boolean {
  return dtype === 'F32' ? K % 4 === 0 : K % 8 === 0;
}

/** Storage bindings of a variant, in order (names for the encoder). */
export function gemvBindings(v: GemvVariant): string[] {
  const input = v.prologue === 'plain' ? ['x'] : v.prologue === 'norm' ? ['x', 'gain'] : ['a', 'y', 'g1', 'g2'];
  const weights = v.epilogue === 'swiglu' ? ['w', 'w2'] : ['w'];
  const out = v.epilogue === 'residual' ? ['resid', 'out'] : v.epilogue === 'conv' ? ['out', 'convW', 'convB', 'convState', 'xc'] : ['out'];
  return [...input, ...weights, ...out];
}

const PROLOGUE_INPUTS = new Set(['x', 'gain', 'a', 'y', 'g1', 'g2']);
const READ_ONLY = new Set(['x', 'gain', 'a', 'y', 'g1', 'g2', 'w', 'w2', 'resid', 'convW', 'convB']);

export function gemvKernel(v: GemvVariant): Kernel {
  const names = gemvBindings(v);
  const vec = vectorised(v.dtype, v.K) && !v.forceScalar;
  const packed = v.dtype !== 'F32';
  const solo = v.solo === true;
  const THREADS = v.threads ?? (solo ? SOLO_THREADS : GEMV_THREADS);
  const ROWS = solo ? THREADS : v.rowsPerGroup;
  const TPR = THREADS / ROWS;
  const decl = names
    .map((n, i) => {
      const weight = n === 'w' || n === 'w2';
      const elem = weight
        ? vec
          ? packed
            ? 'vec4<u32>'
            : 'vec4<f32>'
          : packed
            ? 'u32'
            : 'f32'
        : vec && PROLOGUE_INPUTS.has(n)
          ? 'vec4<f32>'
          : 'f32';
      const access = READ_ONLY.has(n) ? 'read' : 'read_write';
      return `@group(0) @binding(${i + 1}) var<storage, ${access}> ${n}: array<${elem}>;`;
    })
    .join('\n');
  // Activations as vec4 (vec path) or scalars; `xin(j)` is the prologue's input at unit j (from workgroup memory
  // when staged, computed from the global activations otherwise).
  const unit = vec ? 'vec4<f32>' : 'f32';
  const stage = v.stage === true && !solo;
  const stageUnits = vec ? v.K / 4 : v.K;
  // fuse, staged: the two inputs staged apart (xs: β1 ⊙ attn, xs2: β2 ⊙ ssm), two accumulators, scales at the end.
  const split = stage && v.prologue === 'fuse';
  const xinName = stage ? 'xin_global' : 'xin';
  const xinGlobal =
    v.prologue === 'plain'
      ? `fn ${xinName}(j: u32) -> ${unit} { return x[p.xOff + j]; }`
      : v.prologue === 'norm'
        ? `fn ${xinName}(j: u32) -> ${unit} { return x[p.xOff + j] * gain[j]; }`
        : `fn ${xinName}(j: u32) -> ${unit} {
  var m = ${unit}(0.0);
  if (p.hasA != 0u) { m += a[j] * sc.x * g1[j]; }
  if (p.hasY != 0u) { m += y[j] * sc.y * g2[j]; }
  return m * sc.z;
}`;
  const xin = split
    ? `var<workgroup> xs: array<${unit}, ${stageUnits}>;
var<workgroup> xs2: array<${unit}, ${stageUnits}>;
fn xin(j: u32) -> ${unit} { return xs[j]; }
fn xin2(j: u32) -> ${unit} { return xs2[j]; }`
    : stage
      ? `${xinGlobal}
var<workgroup> xs: array<${unit}, ${stageUnits}>;
fn xin(j: u32) -> ${unit} { return xs[j]; }`
      : xinGlobal;
  const norm = v.prologue === 'norm';
  const sq = (e: string) => (vec ? `dot(${e}, ${e})` : `${e} * ${e}`);
  // norm: the stage holds x ⊙ gain and the same pass sums x², so x is read once (the RMS scale multiplies the dot
  // products at the end).
  const stageFill = split
    ? `for (var j = lid; j < ${stageUnits}u; j += ${THREADS}u) {
    var ea = ${unit}(0.0);
    var ey = ${unit}(0.0);
    if (p.hasA != 0u) { ea = a[j]; }
    if (p.hasY != 0u) { ey = y[j]; }
    sa += ${sq('ea')};
    sy += ${sq('ey')};
    xs[j] = ea * g1[j];
    xs2[j] = ey * g2[j];
  }
  workgroupBarrier();`
    : stage
      ? norm
        ? `for (var j = lid; j < ${stageUnits}u; j += ${THREADS}u) { let e = x[p.xOff + j]; ss += ${sq('e')}; xs[j] = e * gain[j]; }
  workgroupBarrier();`
        : `for (var j = lid; j < ${stageUnits}u; j += ${THREADS}u) { xs[j] = xin_global(j); }
  workgroupBarrier();`
      : '';
  // Sum of squares of the prologue's inputs (norm: x; fuse: a and y), reduced over the workgroup.
  const units = vec ? 'p.K / 4u' : 'p.K';
  // A solo invocation walks all of K itself and needs no reduction.
  const from = solo ? '0u' : 'lid';
  const step = solo ? '1u' : `${THREADS}u`;
  const sg = v.subgroups === true && !solo;
  const total = (e: string) => (solo ? e : sg ? `reduce2(lid, ${e}, sgs)` : `reduce2(lid, ${e})`);
  const prologue = split
    ? `var sa = 0.0;
  var sy = 0.0;`
    : v.prologue === 'plain'
      ? ''
      : v.prologue === 'norm'
        ? `var ss = 0.0;${stage ? '' : `\n  for (var j = ${from}; j < ${units}; j += ${step}) { let e = x[p.xOff + j]; ss += ${sq('e')}; }`}`
        : `var sa = 0.0;
  var sy = 0.0;
  for (var j = ${from}; j < ${units}; j += ${step}) {
    if (p.hasA != 0u) { let e = a[j]; sa += ${sq('e')}; }
    if (p.hasY != 0u) { let e = y[j]; sy += ${sq('e')}; }
  }
  let tot = ${total('vec2f(sa, sy)')};
  let eps = p.eps;
  sc = vec3f(1.0 / sqrt(tot.x / f32(p.K) + eps), 1.0 / sqrt(tot.y / f32(p.K) + eps), 1.0 / f32(p.hasA + p.hasY));`;
  // One step of the dot product: weight unit i (8 packed or 4 f32 values on the vec path) times the input.
  const dotUnit = (w: string, x = 'xin') => {
    if (!vec) return packed ? `wval(${w === 'w' ? 0 : 1}u, k) * ${x}(k)` : `${w}[base + k] * ${x}(k)`;
    if (!packed) return `dot(${w}[base + i], ${x}(i))`;
    return `dot8(${w}[base + i], ${x}(2u * i), ${x}(2u * i + 1u))`;
  };
  const loopBound = vec ? (packed ? 'p.K / 8u' : 'p.K / 4u') : 'p.K';
  const two = v.epilogue === 'swiglu';
  // The second accumulator: the up matrix (swiglu) or the second staged input (split fuse).
  const second = two ? dotUnit('w2') : split ? dotUnit('w', 'xin2') : '';
  // The vec path reads UNROLL words per matrix per thread before using any of them: independent 16-byte loads in
  // flight hide the memory latency that one load per iteration exposes (a decode GEMV has few iterations per thread
  // and too few threads to cover it otherwise). The remainder loop takes the last < UNROLL words.
  const U = v.unroll ?? UNROLL;
  const mats = two ? ['w', 'w2'] : ['w'];
  // The U loaded words of matrix m against input x (xin, or xin2 for the split fuse's second input).
  const terms = (m: string, x: string) =>
    Array.from({ length: U }, (_, u) =>
      packed ? `dot8(${m}_${u}, ${x}(2u * i${u}), ${x}(2u * i${u} + 1u))` : `dot(${m}_${u}, ${x}(i${u}))`,
    ).join(' + ');
  const unrolled = Array.from({ length: U }, (_, u) => `let i${u} = i + ${u * TPR}u;`)
    .concat(mats.flatMap((m) => Array.from({ length: U }, (_, u) => `let ${m}_${u} = ${m}[base + i${u}];`)))
    .concat(`acc += ${terms('w', 'xin')};`)
    .concat(two ? [`acc2 += ${terms('w2', 'xin')};`] : split ? [`acc2 += ${terms('w', 'xin2')};`] : [])
    .join('\n    ');
  const loop = vec
    ? `var i = lane;
  for (; i + ${(U - 1) * TPR}u < ${loopBound}; i += ${U * TPR}u) {
    ${unrolled}
  }
  for (; i < ${loopBound}; i += ${TPR}u) {
    acc += ${dotUnit('w')};${second ? `\n    acc2 += ${second};` : ''}
  }`
    : `for (var k = lane; k < p.K; k += ${TPR}u) {
    acc += ${dotUnit('w')};${second ? `\n    acc2 += ${second};` : ''}
  }`;
  const unpackScalar = packed
    ? v.dtype === 'BF16'
      ? `fn wval_word(word: u32, hi: bool) -> f32 { return bitcast<f32>(select(word << 16u, word & 0xffff0000u, hi)); }`
      : `fn wval_word(word: u32, hi: bool) -> f32 { return unpack2x16float(word)[u32(hi)]; }`
    : '';
  const scalarLoaders =
    !vec && packed
      ? `${unpackScalar}
fn wval(which: u32, k: u32) -> f32 {
  let e = wbase + k;
  if (which == 0u) { return wval_word(w[e >> 1u], (e & 1u) == 1u); }
  ${two ? 'return wval_word(w2[e >> 1u], (e & 1u) == 1u);' : 'return 0.0;'}
}`
      : '';
  const dot8 = vec && packed ? dot8Wgsl(v.dtype) : '';
  const epilogue =
    v.epilogue === 'store'
      ? 'out[p.outOff + r] = acc;'
      : v.epilogue === 'residual'
        ? 'out[r] = resid[r] + acc;'
        : v.epilogue === 'swiglu'
          ? 'out[r] = silu(acc) * acc2;'
          : convEpilogue(v.convTaps ?? 4);
  // The weight index of the vec/scalar paths (the scalar path of packed weights works in elements).
  const base = vec ? `let base = row * (${loopBound});` : packed ? 'wbase = row * p.K;' : 'let base = row * p.K;';
  return {
    name: `gemv-${v.dtype}-${v.prologue}-${v.epilogue}-${ROWS}x${TPR}${vec ? `-vec${U}` : ''}${sg ? '-sg' : ''}${stage ? `-staged${v.K}` : ''}${split ? '-split' : ''}${solo ? '-solo' : ''}`,
    bindings: names.map((n) => (READ_ONLY.has(n) ? 'read' : 'rw')),
    wgsl: /* wgsl */ `${sg ? 'enable subgroups;' : ''}
${P.wgsl}
@group(0) @binding(0) var<uniform> p: Params;
${decl}
${solo ? '' : `var<workgroup> red: array<vec2f, ${THREADS}>;`}
var<private> sc: vec3f;
var<private> wbase: u32;
${flatWorkgroup}
${siluWgsl}
${dot8}
${scalarLoaders}
${xin}
${solo ? '' : sg ? reduce2Subgroups(THREADS) : reduce2(THREADS)}
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32${sg ? ', @builtin(subgroup_size) sgs: u32' : ''}) {
  ${prologue}
  ${stageFill}
  let lane = lid % ${TPR}u;
  let local = flat_wg(wg, nwg) * ${ROWS}u + lid / ${TPR}u;   // row within this weight chunk
  let row = p.wRow0 + min(local, p.rows - 1u);                 // rows past the end compute a valid row, never write
  ${base}
  var acc = 0.0;
  var acc2 = 0.0;
  ${loop}
  ${solo ? '' : sg ? rowReduceSubgroups(TPR) : rowReduce(TPR)}
  let rv = ${solo ? 'vec2f(acc, acc2)' : sg ? 'rs' : 'red[lid]'};
  ${
    // norm: x²'s workgroup sum after the weight loads were issued (each thread has read its own red[lid] above).
    norm
      ? `let tot = ${total('vec2f(ss, 0.0)')};
  let ns = 1.0 / sqrt(tot.x / f32(p.K) + p.eps);`
      : split
        ? `let tot = ${total('vec2f(sa, sy)')};
  let eps = p.eps;
  let sxy = vec2f(1.0 / sqrt(tot.x / f32(p.K) + eps), 1.0 / sqrt(tot.y / f32(p.K) + eps)) / f32(p.hasA + p.hasY);
  let ns = 1.0;`
        : 'let ns = 1.0;'
  }
  if (lane == 0u && local < p.rows) {
    acc = ${split ? 'dot(rv, sxy)' : 'rv.x * ns'};
    acc2 = rv.y * ns;
    let r = p.row0 + local;
    ${epilogue}
  }
}`,
  };
}

/** `dot8(wv, xa, xb)`: 8 packed 16-bit weights (one 16-byte word) times 8 activations (two vec4s). */
export function dot8Wgsl(dtype: WeightDType): string {
  return dtype === 'BF16'
    ? `fn dot8(wv: vec4<u32>, xa: vec4<f32>, xb: vec4<f32>) -> f32 {
  // Element 2k of the row is the low half of word k, element 2k+1 the high half (little-endian packing).
  let lo = bitcast<vec4<f32>>(wv << vec4<u32>(16u));
  let hi = bitcast<vec4<f32>>(wv & vec4<u32>(0xffff0000u));
  return dot(lo, vec4<f32>(xa.x, xa.z, xb.x, xb.z)) + dot(hi, vec4<f32>(xa.y, xa.w, xb.y, xb.w));
}`
    : `fn dot8(wv: vec4<u32>, xa: vec4<f32>, xb: vec4<f32>) -> f32 {
  let a = unpack2x16float(wv.x);
  let b = unpack2x16float(wv.y);
  let c = unpack2x16float(wv.z);
  let d = unpack2x16float(wv.w);
  return dot(vec4<f32>(a, b), xa) + dot(vec4<f32>(c, d), xb);
}`;
}

/** Sum a vec2 over the workgroup (the prologue's sums of squares). */
function reduce2(THREADS: number): string {
  return `fn reduce2(lid: u32, v: vec2f) -> vec2f {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${THREADS / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;
}

/** reduce2 with subgroups: a subgroupAdd, the subgroups' sums through workgroup memory in one round. */
function reduce2Subgroups(THREADS: number): string {
  return `fn reduce2(lid: u32, v: vec2f, sgs: u32) -> vec2f {
  let s = subgroupAdd(v);
  workgroupBarrier(); // red may still be read by the row reduction
  if (lid % sgs == 0u) { red[lid / sgs] = s; }
  workgroupBarrier();
  var t = vec2f(0.0);
  for (var k = 0u; k < ${THREADS}u / sgs; k++) { t += red[k]; }
  workgroupBarrier();
  return t;
}`;
}

/**
 * Each row's TPR partial sums with subgroups, into \`rs\` of the row's first lane: xor-shuffles within the row's lanes
 * of one subgroup; where a row spans several subgroups, their sums meet in workgroup memory.
 */
function rowReduceSubgroups(TPR: number): string {
  return `var rs = vec2f(acc, acc2);
  for (var o = 1u; o < min(${TPR}u, sgs); o <<= 1u) { rs += subgroupShuffleXor(rs, o); }
  if (${TPR}u > sgs) {
    if (lid % sgs == 0u) { red[lid / sgs] = rs; }
    workgroupBarrier();
    if (lane == 0u) {
      var t = vec2f(0.0);
      for (var k = 0u; k < ${TPR}u / sgs; k++) { t += red[lid / sgs + k]; }
      rs = t;
    }
  }`;
}

/** Sum each row's TPR partial dot products (both accumulators) in workgroup memory. */
function rowReduce(TPR: number): string {
  return `red[lid] = vec2f(acc, acc2);
  workgroupBarrier();
  for (var s = ${Math.floor(TPR / 2)}u; s > 0u; s >>= 1u) {
    if (lane < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }`;
}

function convEpilogue(K: number): string {
  const past = K - 1;
  const taps = Array.from({ length: past }, (_, j) => `convW[c * ${K}u + ${j}u] * convState[c * ${past}u + ${j}u]`);
  const shift = Array.from(
    { length: Math.max(0, past - 1) },
    (_, j) => `convState[c * ${past}u + ${j}u] = convState[c * ${past}u + ${j + 1}u];`,
  );
  return `out[r] = acc;
    if (r >= p.xRow0 && r < p.xRow0 + p.E) {
      let c = r - p.xRow0;
      let s = convB[c] + ${[...taps, `convW[c * ${K}u + ${past}u] * acc`].join(' + ')};
      xc[c] = silu(s);
      ${shift.join('\n      ')}
      ${past > 0 ? `convState[c * ${past}u + ${past - 1}u] = acc;` : ''}
    }`;
}

/**
 * Whether a GEMV over K inputs can stage them in workgroup memory (room kept for the reduction arrays); the fuse
 * prologue stages its two inputs apart, 8·K bytes.
 */
export function gemvStages(K: number, prologue: Prologue, maxWorkgroupStorage: number): boolean {
  return (prologue === 'fuse' ? 8 : 4) * K + 4096 <= maxWorkgroupStorage;
}

/** How the engine shapes its GEMVs (WebGpuEngineOptions: decodeThreads, decodeRows; solo on the 'cpu-like' profile). */
export interface GemvShape {
  threads: number;
  rows?: number;
  solo?: boolean;
}

/** Threads and rows per workgroup of a GEMV over a matrix of `rows` rows. */
export function gemvLayout(
  shape: GemvShape,
  rows: number,
  prologue: Prologue = 'plain',
): { threads: number; rowsPerGroup: number; solo: boolean } {
  if (shape.solo) return { threads: SOLO_THREADS, rowsPerGroup: SOLO_THREADS, solo: true };
  return { threads: shape.threads, rowsPerGroup: Math.min(shape.threads, shape.rows ?? rowsPerGroup(rows, prologue)), solo: false };
}

/** Workgroups for one chunk of `rows` rows. */
export function gemvGroups(rows: number, rowsPerGroup: number): [number, number] {
  return grid(Math.ceil(rows / rowsPerGroup));
}

/** The uniform of one chunk dispatch. */
export function gemvParams(
  K: number,
  rows: number,
  row0: number,
  extra: {
    eps?: number;
    hasA?: boolean;
    hasY?: boolean;
    xRow0?: number;
    E?: number;
    xOffset?: number;
    vec?: boolean;
    wRow0?: number;
    outOffset?: number;
  } = {},
): number[] {
  // x's offset is in the kernel's units: vec4s on the vectorised path (the offset must then be a multiple of 4).
  const xOff = extra.vec ? (extra.xOffset ?? 0) / 4 : (extra.xOffset ?? 0);
  return P.pack({
    K,
    rows,
    row0,
    eps: extra.eps ?? 0,
    hasA: extra.hasA ? 1 : 0,
    hasY: extra.hasY ? 1 : 0,
    xRow0: extra.xRow0 ?? 0xffffffff,
    E: extra.E ?? 0,
    xOff,
    wRow0: extra.wRow0 ?? 0,
    outOff: extra.outOffset ?? 0,
  });
}

/**
 * A plain GEMV through a runtime Pass (one-row linear layers of the prefill path, e.g. the last row's logits):
 * out[outOffset + o] = Σ_k W[r0 + o, k] · x[xOffset + k] for o < r1 − r0.
 */
export function encodeGemv(
  pass: Pass,
  W: GpuMatrix,
  x: GPUBuffer,
  xOffset: number,
  out: GPUBuffer,
  outOffset: number,
  shape: GemvShape,
  r0 = 0,
  r1 = W.rows,
): void {
  const vec = vectorised(W.dtype, W.cols) && xOffset % 4 === 0;
  const layout = gemvLayout(shape, W.rows);
  const kernel = gemvKernel({ ...layout, dtype: W.dtype, K: W.cols, prologue: 'plain', epilogue: 'store', forceScalar: !vec });
  const rpg = layout.rowsPerGroup;
  for (const ch of W.chunks) {
    const a = Math.max(r0, ch.row0);
    const b = Math.min(r1, ch.row0 + ch.rows);
    if (a >= b) continue;
    const params = gemvParams(W.cols, b - a, a - r0, { xOffset, vec, wRow0: a - ch.row0, outOffset });
    pass.dispatch(kernel, params, [x, ch.buffer, out], gemvGroups(b - a, rpg));
  }
}
