// WGSL kernels of the training graph: forward ops that save what their backward needs, the backward of every op,
// the loss, the gradient norm and AdamW. Conventions:
// - Activations are [R, C] row-major with R = B · N rows (sequence b, position t → row b·N + t; the M meta tokens
//   are the first rows of every sequence). A kernel that reads a column block of a wider matrix gets its row
//   stride and column offset in the uniform (`…Stride`, `…Off`).
// - Every kernel's uniform is declared from one field list (webgpu/kernels/uniforms.ts), so the WGSL struct and
//   the values graph.ts packs for it cannot drift; f32 fields travel as their bits.
// - `acc` = 1 makes a kernel add to its output instead of overwriting it (gradient accumulation).
// - Determinism: no atomics; every sum runs in a fixed order (a loop in one thread, or a fixed tree in one
//   workgroup), so a seeded run is bit-identical on the same device.
// - At most 8 storage buffers per kernel (what every browser offers).
// - The runtime's binding convention (webgpu/runtime.ts): binding 0 is the dispatch's own uniform slot, the rest in
//   declaration order; a kernel's binding list is read from its WGSL declarations, so the two cannot disagree.

import type { Access, Kernel } from '../webgpu/runtime.ts';
import { uniforms, type UniformType, type Uniforms } from '../webgpu/kernels/uniforms.ts';

const ACCESS: Record<string, Access> = { uniform: 'uniform', 'storage, read': 'read', 'storage, read_write': 'rw' };

/** A training kernel: its uniform (binding 0, struct Params, var `u`) from one field list, and the runtime's Kernel. */
export interface TrainKernel<F extends Record<string, UniformType> = Record<string, UniformType>> extends Kernel {
  uniform: Uniforms<F>;
}

/**
 * A training kernel for the runtime. The uniform struct is declared from `fields` (none: no binding 0); bindings 1…
 * are read from the WGSL's declarations.
 */
function kernel<const F extends Record<string, UniformType>>(name: string, fields: F, body: string, entry?: string): TrainKernel<F> {
  const uniform = uniforms(fields);
  const wgsl = Object.keys(fields).length > 0 ? `${uniform.wgsl}\n@group(0) @binding(0) var<uniform> u: Params;\n${body}` : body;
  const declared = new Map<number, Access>();
  for (const m of wgsl.matchAll(/@binding\((\d+)\)\s*var<([^>]+)>/g)) {
    const access = ACCESS[m[2].replace(/\s+/g, ' ')];
    if (!access) throw new Error(`${name}: binding ${m[1]} is var<${m[2]}>, not a uniform or a read / read_write storage buffer`);
    declared.set(Number(m[1]), access);
  }
  const bindings: Access[] = [];
  for (let b = 1; b <= Math.max(0, ...declared.keys()); b++) {
    const access = declared.get(b);
    if (!access) throw new Error(`${name}: binding ${b} is not declared`);
    bindings.push(access);
  }
  return { name, wgsl, bindings, entry, uniform };
}

/** The per-step uniform every step-dependent kernel binds at 1 (graph.ts writeStep). */
export const STEP = uniforms({ step: 'u32', count: 'u32', lr: 'f32', bc1: 'f32', bc2: 'f32' }, 'Step');

/** Index of a 1-D kernel's thread; dispatches of more than 65535 workgroups spill into y. */
const FLAT = /* wgsl */ `
fn flatIdx(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * 64u; }
fn sigm(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }
fn silu(v: f32) -> f32 { return v * sigm(v); }
fn dsilu(v: f32) -> f32 { let s = sigm(v); return s * (1.0 + v * (1.0 - s)); }
fn softplus(v: f32) -> f32 { if (v > 20.0) { return v; } return log(1.0 + exp(v)); }
`;
const MAIN1D =
  '@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>)';

export const MATMUL = {
  M: 'u32',
  N: 'u32',
  K: 'u32',
  sam: 'u32',
  sak: 'u32',
  sbk: 'u32',
  sbn: 'u32',
  ldc: 'u32',
  kChunk: 'u32',
  acc: 'u32',
  splitStride: 'u32',
  oa: 'u32',
  ob: 'u32',
  oc: 'u32',
} as const;

/** C[oc + m·ldc + n] (+)= Σ_k A[oa + m·sam + k·sak] · B[ob + k·sbk + n·sbn]; split-K slice z goes to C + z·splitStride. */
export const matmul = kernel(
  'train.matmul',
  MATMUL,
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
var<workgroup> tA: array<array<f32, 16>, 16>;
var<workgroup> tB: array<array<f32, 16>, 16>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wg.y * 16u + lid.y;
  let col = wg.x * 16u + lid.x;
  let k0 = wg.z * u.kChunk;
  let k1 = min(u.K, k0 + u.kChunk);
  var acc = 0.0;
  for (var kt = k0; kt < k1; kt += 16u) {
    let ka = kt + lid.x;
    var a = 0.0;
    if (row < u.M && ka < k1) { a = A[u.oa + row * u.sam + ka * u.sak]; }
    tA[lid.y][lid.x] = a;
    let kb = kt + lid.y;
    var b = 0.0;
    if (col < u.N && kb < k1) { b = B[u.ob + kb * u.sbk + col * u.sbn]; }
    tB[lid.y][lid.x] = b;
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) { acc += tA[lid.y][kk] * tB[kk][lid.x]; }
    workgroupBarrier();
  }
  if (row < u.M && col < u.N) {
    let i = u.oc + wg.z * u.splitStride + row * u.ldc + col;
    if (u.acc == 1u) { C[i] += acc; } else { C[i] = acc; }
  }
}`,
);

/** The same product with one thread per output and no workgroup memory (fast on CPU rasterisers like SwiftShader). */
export const matmulSimple = kernel(
  'train.matmulSimple',
  MATMUL,
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  let MN = u.M * u.N;
  let z = i / MN;
  let row = (i % MN) / u.N;
  let col = i % u.N;
  let k0 = z * u.kChunk;
  if (k0 >= u.K) { return; }
  let k1 = min(u.K, k0 + u.kChunk);
  var acc = 0.0;
  for (var k = k0; k < k1; k++) { acc += A[u.oa + row * u.sam + k * u.sak] * B[u.ob + k * u.sbk + col * u.sbn]; }
  let o = u.oc + z * u.splitStride + row * u.ldc + col;
  if (u.acc == 1u) { C[o] += acc; } else { C[o] = acc; }
}`,
);

/**
 * Column sums: out[c] (+)= scale · Σ_r A[r·as + ao + c] · (B[r·bs + bo + c] if hasB) · (S[r] if hasS).
 * Entry "tall": one workgroup per column, 256 threads, fixed tree (many rows). "wide": one thread per column (few rows).
 */
const COLSUM_WGSL = /* wgsl */ `
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read> S: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
fn term(r: u32, c: u32) -> f32 {
  var v = A[r * u.aS + u.ao + c];
  if (u.hasB == 1u) { v *= B[r * u.bs + u.bo + c]; }
  if (u.hasS == 1u) { v *= S[r]; }
  return v;
}
fn store(c: u32, s: f32) {
  let v = s * u.scale;
  if (u.acc == 1u) { out[c] += v; } else { out[c] = v; }
}
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256)
fn tall(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = wg.x + wg.y * nwg.x;
  var s = 0.0;
  if (c < u.cols) { for (var r = lid.x; r < u.rows; r += 256u) { s += term(r, c); } }
  part[lid.x] = s;
  workgroupBarrier();
  for (var w = 128u; w > 0u; w >>= 1u) {
    if (lid.x < w) { part[lid.x] += part[lid.x + w]; }
    workgroupBarrier();
  }
  if (lid.x == 0u && c < u.cols) { store(c, part[0]); }
}
@compute @workgroup_size(64)
fn wide(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid.x + gid.y * nwg.x * 64u;
  if (c >= u.cols) { return; }
  var s = 0.0;
  for (var r = 0u; r < u.rows; r++) { s += term(r, c); }
  store(c, s);
}`;
const COLSUM = {
  rows: 'u32',
  cols: 'u32',
  aS: 'u32',
  ao: 'u32',
  bs: 'u32',
  bo: 'u32',
  hasB: 'u32',
  hasS: 'u32',
  scale: 'f32',
  acc: 'u32',
} as const;
export const colsumTall = kernel('train.colsum.tall', COLSUM, COLSUM_WGSL, 'tall');
export const colsumWide = kernel('train.colsum.wide', COLSUM, COLSUM_WGSL, 'wide');

/** y = scale · w ⊙ x · rinv, rinv = 1/sqrt(mean(x²) + eps) saved per row. One thread per row. */
export const rmsnormFwd = kernel(
  'train.rmsnormFwd',
  { rows: 'u32', width: 'u32', xs: 'u32', xo: 'u32', ys: 'u32', yo: 'u32', eps: 'f32', scale: 'f32', acc: 'u32' },
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> rinv: array<f32>;
${FLAT}
${MAIN1D} {
  let r = flatIdx(gid, nwg);
  if (r >= u.rows) { return; }
  var ss = 0.0;
  for (var c = 0u; c < u.width; c++) { let v = x[r * u.xs + u.xo + c]; ss += v * v; }
  let ri = 1.0 / sqrt(ss / f32(u.width) + u.eps);
  rinv[r] = ri;
  let sc = u.scale;
  for (var c = 0u; c < u.width; c++) {
    let v = sc * w[c] * x[r * u.xs + u.xo + c] * ri;
    let i = r * u.ys + u.yo + c;
    if (u.acc == 1u) { y[i] += v; } else { y[i] = v; }
  }
}`,
);

/** gx (+)= rinv·scale·w⊙gy − x·rinv³·(Σ scale·gy⊙w⊙x)/width. The gain's gradient is a colsum. */
export const rmsnormBwd = kernel(
  'train.rmsnormBwd',
  { rows: 'u32', width: 'u32', gs: 'u32', go: 'u32', xs: 'u32', xo: 'u32', dxs: 'u32', dxo: 'u32', scale: 'f32', acc: 'u32' },
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> rinv: array<f32>;
@group(0) @binding(5) var<storage, read_write> gx: array<f32>;
${FLAT}
${MAIN1D} {
  let r = flatIdx(gid, nwg);
  if (r >= u.rows) { return; }
  let ri = rinv[r];
  let sc = u.scale;
  var dot = 0.0;
  for (var c = 0u; c < u.width; c++) { dot += sc * gy[r * u.gs + u.go + c] * w[c] * x[r * u.xs + u.xo + c]; }
  let k = ri * ri * ri * dot / f32(u.width);
  for (var c = 0u; c < u.width; c++) {
    let v = ri * sc * gy[r * u.gs + u.go + c] * w[c] - x[r * u.xs + u.xo + c] * k;
    let i = r * u.dxs + u.dxo + c;
    if (u.acc == 1u) { gx[i] += v; } else { gx[i] = v; }
  }
}`,
);

/** x[b, t] = meta[t] for t < M, else embed[ids[b, t − M]]. */
export const embedFwd = kernel(
  'train.embedFwd',
  { R: 'u32', N: 'u32', M: 'u32', D: 'u32', L: 'u32' },
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> emb: array<f32>;
@group(0) @binding(3) var<storage, read> metaT: array<f32>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;
${FLAT}
${MAIN1D} {
  let i = flatIdx(gid, nwg);
  if (i >= u.R * u.D) { return; }
  let r = i / u.D;
  let d = i % u.D;
  let b = r / u.N;
  let t = r % u.N;
  if (t < u.M) { x[i] = metaT[t * u.D + d]; } else { x[i] = emb[ids[b * u.L + t - u.M] * u.D + d]; }
}`,
);

/** gEmb[v] += Σ over the rows holding token v (a CSR list built on the CPU, in row order) of G[row]. */
export const embedBwd = kernel(
  'train.embedBwd',
  { V: 'u32', D: 'u32' },
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> start: array<u32>;
@group(0) @binding(2) var<storage, read> rows: array<u32>;
@group(0) @binding(3) var<storage, read> G: array<f32>;
@group(0) @binding(4) var<storage, read_write> gemb: array<f32>;
${FLAT}
${MAIN1D} {
  let i = flatIdx(gid, nwg);
  if (i >= u.V * u.D) { return; }
  let v = i / u.D;
  let d = i % u.D;
  var s = 0.0;
  for (var j = start[v]; j < start[v + 1u]; j++) { s += G[rows[j] * u.D + d]; }
  gemb[i] += s;
}`,
);

/** Rotary embedding on a column block; sign −1 rotates back (the backward). cos/sin tables [N, d/2]. */
export const rope = kernel(
  'train.rope',
  { rows: 'u32', N: 'u32', heads: 'u32', half: 'u32', iS: 'u32', io: 'u32', os: 'u32', oo: 'u32', sign: 'f32', acc: 'u32' },
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read> cosT: array<f32>;
@group(0) @binding(3) var<storage, read> sinT: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
${FLAT}
${MAIN1D} {
  let i = flatIdx(gid, nwg);
  if (i >= u.rows * u.heads * u.half) { return; }
  let j = i % u.half;
  let h = (i / u.half) % u.heads;
  let r = i / (u.half * u.heads);
  let t = r % u.N;
  let c = cosT[t * u.half + j];
  let s = u.sign * sinT[t * u.half + j];
  let ia = r * u.iS + u.io + h * 2u * u.half + j;
  let a = inp[ia];
  let b = inp[ia + u.half];
  let oa = r * u.os + u.oo + h * 2u * u.half + j;
  if (u.acc == 1u) { out[oa] += a * c - b * s; out[oa + u.half] += b * c + a * s; }
  else { out[oa] = a * c - b * s; out[oa + u.half] = b * c + a * s; }
}`,
);

/** The attention mask, shared by forward and backward. window = 0xffffffff: global. */
const VISIBLE = /* wgsl */ `
fn visible(t: u32, s: u32) -> bool {
  if (s > t) { return false; }
  return u.window == 0xffffffffu || t - s <= u.window || s < u.numMeta;
}`;
export const ATTN = {
  B: 'u32',
  N: 'u32',
  H: 'u32',
  Hkv: 'u32',
  dqk: 'u32',
  dv: 'u32',
  qs: 'u32',
  qo: 'u32',
  ks: 'u32',
  ko: 'u32',
  vs: 'u32',
  vo: 'u32',
  window: 'u32',
  numMeta: 'u32',
  scale: 'f32',
  acc: 'u32',
} as const;

/** probs[b, h, t, s] = softmax_s(q_t · k_s · scale) over visible keys (0 elsewhere). One thread per query row. */
export const attnProbs = kernel(
  'train.attnProbs',
  ATTN,
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read_write> P: array<f32>;
${FLAT}
${VISIBLE}
${MAIN1D} {
  let i = flatIdx(gid, nwg);
  if (i >= u.B * u.H * u.N) { return; }
  let t = i % u.N;
  let h = (i / u.N) % u.H;
  let b = i / (u.N * u.H);
  let g = h / (u.H / u.Hkv);
  let base = i * u.N;
  let sc = u.scale;
  var mx = -3.0e38;
  for (var s = 0u; s < u.N; s++) {
    if (!visible(t, s)) { P[base + s] = 0.0; continue; }
    var d = 0.0;
    for (var e = 0u; e < u.dqk; e++) { d += q[(b * u.N + t) * u.qs + u.qo + h * u.dqk + e] * k[(b * u.N + s) * u.ks + u.ko + g * u.dqk + e]; }
    P[base + s] = d * sc;
    mx = max(mx, d * sc);
  }
  var sum = 0.0;
  for (var s = 0u; s <= t; s++) { if (visible(t, s)) { let e = exp(P[base + s] - mx); P[base + s] = e; sum += e; } }
  for (var s = 0u; s <= t; s++) { P[base + s] = P[base + s] / sum; }
}`,
);

/**
 * Attention's mix over the visible keys, in the forward and the backward alike:
 * out[b, t, h·w + e] = Σ_{s ≤ t} Mx[b, h, t, s] · X[b, s, g·w + e]   (X at row stride xs, column offset xo)
 * attn.out: Mx = P, X = V, w = dv;   the query gradient: Mx = gS, X = K, w = dqk.
 */
export const attnMix = kernel(
  'train.attnMix',
  { ...ATTN, width: 'u32', xs: 'u32', xo: 'u32' },
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> Mx: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${FLAT}
${MAIN1D} {
  let i = flatIdx(gid, nwg);
  if (i >= u.B * u.N * u.H * u.width) { return; }
  let e = i % u.width;
  let h = (i / u.width) % u.H;
  let t = (i / (u.width * u.H)) % u.N;
  let b = i / (u.width * u.H * u.N);
  let g = h / (u.H / u.Hkv);
  let pb = ((b * u.H + h) * u.N + t) * u.N;
  var acc = 0.0;
  for (var s = 0u; s <= t; s++) { acc += Mx[pb + s] * X[(b * u.N + s) * u.xs + u.xo + g * u.width + e]; }
  out[i] = acc;
}`,
);

/** gS[b, h, t, s] = P·(gP − Σ P·gP)·scale with gP[s] = gout_t · v_s (softmax + scale backward). */
export const attnGradScores = kernel(
  'train.attnGradScores',
  ATTN,
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> gout: array<f32>;
@group(0) @binding(4) var<storage, read_write> gS: array<f32>;
${FLAT}
${MAIN1D} {
  let i = flatIdx(gid, nwg);
  if (i >= u.B * u.H * u.N) { return; }
  let t = i % u.N;
  let h = (i / u.N) % u.H;
  let b = i / (u.N * u.H);
  let g = h / (u.H / u.Hkv);
  let base = i * u.N;
  var dot = 0.0;
  for (var s = 0u; s < u.N; s++) {
    if (s > t) { gS[base + s] = 0.0; continue; }
    var gp = 0.0;
    for (var e = 0u; e < u.dv; e++) { gp += gout[(b * u.N + t) * u.H * u.dv + h * u.dv + e] * v[(b * u.N + s) * u.vs + u.vo + g * u.dv + e]; }
    gS[base + s] = gp;
    dot += P[base + s] * gp;
  }
  let sc = u.scale;
  for (var s = 0u; s <= t; s++) { gS[base + s] = P[base + s] * (gS[base + s] - dot) * sc; }
}`,
);

/**
 * K/V gradients of one KV head, summed over its query heads and the queries that see each key:
 * mode 0: gk[b, s, g·dqk + e] (+)= Σ_h Σ_t gS[b, h, t, s] · q[b, t, h·dqk + e]   (M = gS, X = q)
 * mode 1: gv[b, s, g·dv + e]  (+)= Σ_h Σ_t P[b, h, t, s] · gout[b, t, h·dv + e]  (M = P, X = gout)
 * Written at out[row·os + oo + …] so a consumer layer adds into its producer's gradient. Its uniform is the
 * attention's fields followed by width, xs, os, oo.
 */
export const attnGradKV = kernel(
  'train.attnGradKV',
  { ...ATTN, width: 'u32', xs: 'u32', os: 'u32', oo: 'u32' },
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> Mx: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${FLAT}
${MAIN1D} {
  let i = flatIdx(gid, nwg);
  if (i >= u.B * u.N * u.Hkv * u.width) { return; }
  let e = i % u.width;
  let g = (i / u.width) % u.Hkv;
  let s = (i / (u.width * u.Hkv)) % u.N;
  let b = i / (u.width * u.Hkv * u.N);
  let grp = u.H / u.Hkv;
  var acc = 0.0;
  for (var hh = 0u; hh < grp; hh++) {
    let h = g * grp + hh;
    for (var t = s; t < u.N; t++) {
      acc += Mx[((b * u.H + h) * u.N + t) * u.N + s] * X[(b * u.N + t) * u.xs + h * u.width + e];
    }
  }
  let o = (b * u.N + s) * u.os + u.oo + g * u.width + e;
  if (u.acc == 1u) { out[o] += acc; } else { out[o] = acc; }
}`,
);

export const CONV = { R: 'u32', N: 'u32', E: 'u32', K: 'u32', xs: 'u32', xo: 'u32', hasBias: 'u32', linear: 'u32' } as const;

/** pre = bias + Σ_j w[c, j] · x[t − K + 1 + j] (zero before the sequence start); y = SiLU(pre), or y = pre when linear. */
export const convFwd = kernel(
  'train.convFwd',
  CONV,
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> pre: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
${FLAT}
${MAIN1D} {
  let i = flatIdx(gid, nwg);
  if (i >= u.R * u.E) { return; }
  let c = i % u.E;
  let r = i / u.E;
  let t = r % u.N;
  var s = 0.0;
  if (u.hasBias == 1u) { s = bias[c]; }
  for (var j = 0u; j < u.K; j++) {
    if (t + j + 1u >= u.K) { s += w[c * u.K + j] * x[(r + j + 1u - u.K) * u.xs + u.xo + c]; }
  }
  pre[i] = s;
  if (u.linear == 1u) { y[i] = s; } else { y[i] = silu(s); }
}`,
);

/** out[r, c] = x[r · xs + xo + c]: a dense copy of a column block. */
export const colsCopy = kernel(
  'train.colsCopy',
  { R: 'u32', C: 'u32', xs: 'u32', xo: 'u32' },
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${FLAT}
${MAIN1D} {
  let i = flatIdx(gid, nwg);
  if (i >= u.R * u.C) { return; }
  out[i] = x[(i / u.C) * u.xs + u.xo + i % u.C];
}`,
);

/** In place: g = g · SiLU'(pre) (the conv's activation backward). */
export const siluBwd = kernel(
  'train.siluBwd',
  { n: 'u32' },
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> pre: array<f32>;
@group(0) @binding(2) var<storage, read_write> g: array<f32>;
${FLAT}
${MAIN1D} {
  let i = flatIdx(gid, nwg);
  if (i >= u.n) { return; }
  g[i] = g[i] * dsilu(pre[i]);
}`,
);

/** gx[t, c] = Σ_j w[c, j] · gpre[t + K − 1 − j, c] (within the sequence), written into the in_proj gradient. */
export const convBwdX = kernel(
  'train.convBwdX',
  CONV,
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> gpre: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> gx: array<f32>;
${FLAT}
${MAIN1D} {
  let i = flatIdx(gid, nwg);
  if (i >= u.R * u.E) { return; }
  let c = i % u.E;
  let r = i / u.E;
  let t = r % u.N;
  var s = 0.0;
  for (var j = 0u; j < u.K; j++) {
    let ahead = u.K - 1u - j;
    if (t + ahead < u.N) { s += w[c * u.K + j] * gpre[(r + ahead) * u.E + c]; }
  }
  gx[r * u.xs + u.xo + c] = s;
}`,
);

/** gw[c, j] = Σ_{b,t} gpre[t, c] · x[t − K + 1 + j, c]: one workgroup per (c, j), fixed tree. */
export const convBwdW = kernel(
  'train.convBwdW',
  CONV,
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> gpre: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> gw: array<f32>;
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = wg.x / u.K;
  let j = wg.x % u.K;
  var s = 0.0;
  for (var r = lid.x; r < u.R; r += 256u) {
    let t = r % u.N;
    if (t + j + 1u >= u.K) { s += gpre[r * u.E + c] * x[(r + j + 1u - u.K) * u.xs + u.xo + c]; }
  }
  part[lid.x] = s;
  workgroupBarrier();
  for (var w = 128u; w > 0u; w >>= 1u) {
    if (lid.x < w) { part[lid.x] += part[lid.x + w]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { gw[wg.x] = part[0]; }
}`,
);

/** mode 0: dt = softplus(u + bias[c]);  mode 1 (in place on g): g = g · sigmoid(u + bias[c]). */
export const softplus = kernel(
  'train.softplus',
  { n: 'u32', E: 'u32', mode: 'u32' },
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> pre: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${FLAT}
${MAIN1D} {
  let i = flatIdx(gid, nwg);
  if (i >= u.n) { return; }
  let v = pre[i] + bias[i % u.E];
  if (u.mode == 0u) { out[i] = softplus(v); } else if (v <= 20.0) { out[i] = out[i] * sigm(v); }
}`,
);

export const SCAN = { B: 'u32', N: 'u32', E: 'u32', alog: 'u32', d: 'u32', pA: 'u32', pD: 'u32' } as const;

/**
 * The selective scan, one thread per (sequence, channel), sequential over tokens, its S states in registers.
 * BC = [R, 2S] (B then C); A_log and D are read from the parameter buffer at offsets alog, d.
 * Saves every state h_t for the backward.
 */
export const scanFwd = (S: number) =>
  kernel(
    `train.scanFwd.S${S}`,
    SCAN,
    /* wgsl */ `
const S = ${S}u;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dt: array<f32>;
@group(0) @binding(3) var<storage, read> BC: array<f32>;
@group(0) @binding(4) var<storage, read> prm: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read_write> states: array<f32>;
${FLAT}
${MAIN1D} {
  let i = flatIdx(gid, nwg);
  if (i >= u.B * u.E) { return; }
  let c = i % u.E;
  let b = i / u.E;
  var h: array<f32, ${S}>;
  var A: array<f32, ${S}>;
  for (var n = 0u; n < S; n++) { h[n] = 0.0; A[n] = -exp(prm[u.alog + c * S + n]); }
  let Dc = prm[u.d + c];
  for (var t = 0u; t < u.N; t++) {
    let r = b * u.N + t;
    let d = dt[r * u.E + c];
    let xv = x[r * u.E + c];
    var acc = Dc * xv;
    for (var n = 0u; n < S; n++) {
      h[n] = exp(d * A[n]) * h[n] + d * BC[r * 2u * S + n] * xv;
      states[(r * u.E + c) * S + n] = h[n];
      acc += BC[r * 2u * S + S + n] * h[n];
    }
    y[r * u.E + c] = acc;
  }
}`,
  );

/**
 * The scan backward, in reverse over tokens. Overwrites states[t] with ∂L/∂h_t once h_t is no longer needed
 * (the gB kernel reads it there), writes ∂L/∂x (the conv output) and ∂L/∂Δ, and per-sequence partial sums of
 * ∂L/∂A_log and ∂L/∂D into part (reduced over sequences by a colsum). gC must be computed before this runs.
 */
export const scanBwd = (S: number) =>
  kernel(
    `train.scanBwd.S${S}`,
    SCAN,
    /* wgsl */ `
const S = ${S}u;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> dt: array<f32>;
@group(0) @binding(4) var<storage, read> BC: array<f32>;
@group(0) @binding(5) var<storage, read> prm: array<f32>;
@group(0) @binding(6) var<storage, read_write> states: array<f32>;
@group(0) @binding(7) var<storage, read_write> gx: array<f32>;
@group(0) @binding(8) var<storage, read_write> gdtp: array<f32>;
${FLAT}
${MAIN1D} {
  let i = flatIdx(gid, nwg);
  if (i >= u.B * u.E) { return; }
  let c = i % u.E;
  let b = i / u.E;
  var gh: array<f32, ${S}>;
  var A: array<f32, ${S}>;
  var gA: array<f32, ${S}>;
  for (var n = 0u; n < S; n++) { gh[n] = 0.0; gA[n] = 0.0; A[n] = -exp(prm[u.alog + c * S + n]); }
  let Dc = prm[u.d + c];
  var gD = 0.0;
  for (var tt = 0u; tt < u.N; tt++) {
    let t = u.N - 1u - tt;
    let r = b * u.N + t;
    let d = dt[r * u.E + c];
    let xv = x[r * u.E + c];
    let g = gy[r * u.E + c];
    var gxv = g * Dc;
    gD += g * xv;
    var gd = 0.0;
    for (var n = 0u; n < S; n++) {
      let decay = exp(d * A[n]);
      var hPrev = 0.0;
      if (t > 0u) { hPrev = states[((r - 1u) * u.E + c) * S + n]; }
      let ght = gh[n] + g * BC[r * 2u * S + S + n];
      let gDecay = ght * hPrev * decay;
      let Bn = BC[r * 2u * S + n];
      gd += gDecay * A[n] + ght * Bn * xv;
      gA[n] += gDecay * d * A[n];
      gxv += ght * d * Bn;
      states[(r * u.E + c) * S + n] = ght;
      gh[n] = ght * decay;
    }
    gx[r * u.E + c] = gxv;
    gdtp[r * u.E + c] = gd;
  }
  for (var n = 0u; n < S; n++) { gdtp[u.pA + (b * u.E + c) * S + n] = gA[n]; }
  gdtp[u.pD + b * u.E + c] = gD;
}`,
  );

/**
 * Reductions over channels for the scan's B and C inputs, one thread per (row, n), into gBC = [R, 2S]:
 * mode 0: gB[r, n] = Σ_c gh[r, c, n] · Δ[r, c] · x[r, c]      (H = ∂L/∂h, from scanBwd)
 * mode 1: gC[r, n] = Σ_c gy[r, c] · h[r, c, n]                 (H = the saved states)
 */
export const scanGradBC = (S: number) =>
  kernel(
    `train.scanGradBC.S${S}`,
    { R: 'u32', E: 'u32', mode: 'u32' },
    /* wgsl */ `
const S = ${S}u;
@group(0) @binding(1) var<storage, read> H: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> gBC: array<f32>;
${FLAT}
${MAIN1D} {
  let i = flatIdx(gid, nwg);
  if (i >= u.R * S) { return; }
  let n = i % S;
  let r = i / S;
  var s = 0.0;
  for (var c = 0u; c < u.E; c++) {
    if (u.mode == 0u) { s += H[(r * u.E + c) * S + n] * a[r * u.E + c] * b[r * u.E + c]; }
    else { s += a[r * u.E + c] * H[(r * u.E + c) * S + n]; }
  }
  gBC[r * 2u * S + u.mode * S + n] = s;
}`,
  );

/** SSM gate. mode 0: out = y · SiLU(z). mode 1: gy = g · SiLU(z), gz (into the in_proj gradient) = g · y · SiLU'(z). */
export const gate = kernel(
  'train.gate',
  { R: 'u32', E: 'u32', zs: 'u32', zo: 'u32', mode: 'u32' },
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> zsrc: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> gz: array<f32>;
${FLAT}
${MAIN1D} {
  let i = flatIdx(gid, nwg);
  if (i >= u.R * u.E) { return; }
  let zi = (i / u.E) * u.zs + u.zo + i % u.E;
  let z = zsrc[zi];
  if (u.mode == 0u) { out[i] = y[i] * silu(z); return; }
  out[i] = g[i] * silu(z);
  gz[zi] = g[i] * y[i] * dsilu(z);
}`,
);

/** SwiGLU on gu = [R, 2F] (gate | up). mode 0: act = SiLU(gate)·up. mode 1: ggu from g = ∂L/∂act. */
export const swiglu = kernel(
  'train.swiglu',
  { R: 'u32', F: 'u32', mode: 'u32' },
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> gu: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${FLAT}
${MAIN1D} {
  let i = flatIdx(gid, nwg);
  if (i >= u.R * u.F) { return; }
  let r = i / u.F;
  let f = i % u.F;
  let a = gu[r * 2u * u.F + f];
  let b = gu[r * 2u * u.F + u.F + f];
  if (u.mode == 0u) { out[i] = silu(a) * b; return; }
  out[r * 2u * u.F + f] = g[i] * b * dsilu(a);
  out[r * 2u * u.F + u.F + f] = g[i] * silu(a);
}`,
);

/** mode 0 gather: dst[i] = src[rows[i]] (i < count, else 0). mode 1 scatter: dst[rows[i]] = src[i] (i < count). */
export const rows = kernel(
  'train.rows',
  { maxRows: 'u32', D: 'u32', mode: 'u32' },
  /* wgsl */ `
${STEP.wgsl}
@group(0) @binding(1) var<uniform> st: Step;
@group(0) @binding(2) var<storage, read> rows: array<u32>;
@group(0) @binding(3) var<storage, read> src: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;
${FLAT}
${MAIN1D} {
  let i = flatIdx(gid, nwg);
  if (i >= u.maxRows * u.D) { return; }
  let k = i / u.D;
  let d = i % u.D;
  if (u.mode == 0u) {
    if (k < st.count) { dst[i] = src[rows[k] * u.D + d]; } else { dst[i] = 0.0; }
  } else if (k < st.count) { dst[rows[k] * u.D + d] = src[i]; }
}`,
);

/**
 * Cross-entropy per target row (one workgroup per row, fixed trees): lossRow[k] = logsumexp − logit[label], and
 * glogits = (softmax − onehot) / count. Rows ≥ count get zero loss and gradient. Also writes argmax (predictions).
 */
export const crossEntropy = kernel(
  'train.crossEntropy',
  { V: 'u32' },
  /* wgsl */ `
${STEP.wgsl}
@group(0) @binding(1) var<uniform> st: Step;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read> logits: array<f32>;
@group(0) @binding(4) var<storage, read_write> glogits: array<f32>;
@group(0) @binding(5) var<storage, read_write> lossRow: array<f32>;
@group(0) @binding(6) var<storage, read_write> pred: array<u32>;
var<workgroup> red: array<f32, 256>;
var<workgroup> arg: array<u32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let k = wg.x;
  let base = k * u.V;
  if (k >= st.count) {
    for (var v = lid.x; v < u.V; v += 256u) { glogits[base + v] = 0.0; }
    if (lid.x == 0u) { lossRow[k] = 0.0; pred[k] = 0u; }
    return;
  }
  var mx = -3.0e38;
  var am = 0u;
  for (var v = lid.x; v < u.V; v += 256u) { if (logits[base + v] > mx) { mx = logits[base + v]; am = v; } }
  red[lid.x] = mx;
  arg[lid.x] = am;
  workgroupBarrier();
  for (var w = 128u; w > 0u; w >>= 1u) {
    if (lid.x < w) {
      let o = red[lid.x + w];
      if (o > red[lid.x] || (o == red[lid.x] && arg[lid.x + w] < arg[lid.x])) { red[lid.x] = o; arg[lid.x] = arg[lid.x + w]; }
    }
    workgroupBarrier();
  }
  let m = red[0];
  let best = arg[0];
  workgroupBarrier();
  var s = 0.0;
  for (var v = lid.x; v < u.V; v += 256u) { s += exp(logits[base + v] - m); }
  red[lid.x] = s;
  workgroupBarrier();
  for (var w = 128u; w > 0u; w >>= 1u) {
    if (lid.x < w) { red[lid.x] += red[lid.x + w]; }
    workgroupBarrier();
  }
  let sum = red[0];
  let label = labels[k];
  let inv = 1.0 / f32(st.count);
  for (var v = lid.x; v < u.V; v += 256u) {
    var p = exp(logits[base + v] - m) / sum;
    if (v == label) { p -= 1.0; }
    glogits[base + v] = p * inv;
  }
  if (lid.x == 0u) { lossRow[k] = log(sum) + m - logits[base + label]; pred[k] = best; }
}`,
);

/** Sum of squares over the flat gradient: stage 0 per-workgroup partials, stage 1 one workgroup → sqrt. */
export const sumsq = kernel(
  'train.sumsq',
  { n: 'u32', stage: 'u32' },
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
var<workgroup> red: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  var s = 0.0;
  if (u.stage == 0u) {
    let chunk = 4096u;
    for (var i = wg.x * chunk + lid.x; i < min(u.n, (wg.x + 1u) * chunk); i += 256u) { s += src[i] * src[i]; }
  } else {
    for (var i = lid.x; i < u.n; i += 256u) { s += src[i]; }
  }
  red[lid.x] = s;
  workgroupBarrier();
  for (var w = 128u; w > 0u; w >>= 1u) {
    if (lid.x < w) { red[lid.x] += red[lid.x + w]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { if (u.stage == 0u) { dst[wg.x] = red[0]; } else { dst[0] = sqrt(red[0]); } }
}`,
);

/** Sum of the per-row losses (one workgroup, fixed tree) → history[step] = mean loss. */
export const lossSum = kernel(
  'train.lossSum',
  {},
  /* wgsl */ `
${STEP.wgsl}
@group(0) @binding(1) var<uniform> st: Step;
@group(0) @binding(2) var<storage, read> lossRow: array<f32>;
@group(0) @binding(3) var<storage, read_write> history: array<f32>;
var<workgroup> red: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  var s = 0.0;
  for (var i = lid.x; i < st.count; i += 256u) { s += lossRow[i]; }
  red[lid.x] = s;
  workgroupBarrier();
  for (var w = 128u; w > 0u; w >>= 1u) {
    if (lid.x < w) { red[lid.x] += red[lid.x + w]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { history[st.step] = red[0] / f32(st.count); }
}`,
);

/** AdamW with global-norm clipping: g ← g · min(1, clip / ‖g‖); decoupled weight decay where decay[i] = 1. */
export const adamw = kernel(
  'train.adamw',
  { n: 'u32', b1: 'f32', b2: 'f32', eps: 'f32', wd: 'f32', clip: 'f32' },
  /* wgsl */ `
${STEP.wgsl}
@group(0) @binding(1) var<uniform> st: Step;
@group(0) @binding(2) var<storage, read_write> p: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;
@group(0) @binding(6) var<storage, read> decay: array<f32>;
@group(0) @binding(7) var<storage, read> norm: array<f32>;
${FLAT}
${MAIN1D} {
  let i = flatIdx(gid, nwg);
  if (i >= u.n) { return; }
  let clipScale = min(1.0, u.clip / max(norm[0], 1e-12));
  let gi = g[i] * clipScale;
  let mi = u.b1 * m[i] + (1.0 - u.b1) * gi;
  let vi = u.b2 * v[i] + (1.0 - u.b2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  let update = (mi / st.bc1) / (sqrt(vi / st.bc2) + u.eps);
  p[i] = p[i] - st.lr * (update + u.wd * decay[i] * p[i]);
}`,
);

/** out = a + b (the residual adds). */
export const add = kernel(
  'train.add',
  { n: 'u32' },
  /* wgsl */ `
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${FLAT}
${MAIN1D} {
  let i = flatIdx(gid, nwg);
  if (i < u.n) { out[i] = a[i] + b[i]; }
}`,
);
