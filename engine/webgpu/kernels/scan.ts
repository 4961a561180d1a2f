// The Mamba-1 selective scan (per-channel A, B and C shared by all channels), sequential over tokens:
//   h_t[c,n] = exp(Δ_t[c]·A[c,n]) · h_{t−1}[c,n] + Δ_t[c] · B_t[n] · x_t[c]
//   y_t[c]   = Σ_n C_t[n] · h_t[c,n] + D[c] · x_t[c]
// Thread mapping: one thread per (channel c, state n); a workgroup holds 64 / S channels (S = d_state ≤ 64).
// The state h[c,n] lives in a register for the whole sequence; per token the S partial products C·h of a channel
// are summed in workgroup memory by the channel's first thread. The gate SiLU(z) is a separate kernel.
// `state` [E, S] is read as h_0 unless `zeroInit`, and holds the final state afterwards (decode keeps it);
// with `keepStates`, every h_t is written to states [T, E, S] (the `ssm.states` tap).
// On the 'cpu-like' profile (runtime.ts) one invocation per channel keeps the channel's S states in private memory
// and sums C·h itself: no workgroup memory, no barrier per token.
// A and D travel in one buffer `AD` = [A (E·S values, already −exp(A_log)) ; D (E values)].
// A batch (engine.ts forwardBatch) stacks T / seqRows sequences of seqRows rows; each scans on its own (workgroup
// or invocation y = sequence) with its own state [E, S] at state[b·E·S …].

import { type GpuTensor, type Kernel, type Pass } from '../runtime.ts';
import { uniforms } from './uniforms.ts';

const P = uniforms({ T: 'u32', E: 'u32', zeroInit: 'u32', keepStates: 'u32', seqRows: 'u32' });

/** The bindings of both variants. */
const BINDINGS = /* wgsl */ `
${P.wgsl}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dt: array<f32>;
@group(0) @binding(3) var<storage, read> AD: array<f32>;
@group(0) @binding(4) var<storage, read> B: array<f32>;
@group(0) @binding(5) var<storage, read> C: array<f32>;
@group(0) @binding(6) var<storage, read_write> state: array<f32>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;
@group(0) @binding(8) var<storage, read_write> states: array<f32>;`;

function scanKernel(S: number): Kernel {
  const channels = Math.max(1, Math.floor(64 / S));
  return {
    name: `scan-${S}`,
    bindings: ['read', 'read', 'read', 'read', 'read', 'rw', 'rw', 'rw'],
    wgsl: /* wgsl */ `
${BINDINGS}
const S = ${S}u;
const CH = ${channels}u;
var<workgroup> part: array<f32, ${channels * S}>;
@compute @workgroup_size(${channels * S})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let local = lid / S;
  let n = lid % S;
  let c = wg.x * CH + local;
  let live = c < p.E;
  let cc = min(c, p.E - 1u);   // inactive threads compute on a valid channel but never write
  let r0 = wg.y * p.seqRows;   // first row of this workgroup's sequence
  let s0 = wg.y * p.E * S;     // and its state
  let A = AD[cc * S + n];
  let Dc = AD[p.E * S + cc];
  var h = 0.0;
  if (p.zeroInit == 0u) { h = state[s0 + cc * S + n]; }
  for (var t = r0; t < r0 + p.seqRows; t++) {
    let d = dt[t * p.E + cc];
    let xv = x[t * p.E + cc];
    h = exp(d * A) * h + d * B[t * S + n] * xv;
    part[lid] = C[t * S + n] * h;
    if (live && p.keepStates != 0u) { states[(t * p.E + c) * S + n] = h; }
    workgroupBarrier();
    if (n == 0u && live) {
      var acc = 0.0;
      for (var i = 0u; i < S; i++) { acc += part[local * S + i]; }
      y[t * p.E + c] = acc + Dc * xv;
    }
    workgroupBarrier();
  }
  if (live) { state[s0 + c * S + n] = h; }
}`,
  };
}

function channelScanKernel(S: number): Kernel {
  return {
    name: `scan-channel-${S}`,
    bindings: ['read', 'read', 'read', 'read', 'read', 'rw', 'rw', 'rw'],
    wgsl: /* wgsl */ `
${BINDINGS}
const S = ${S}u;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.E) { return; }
  let r0 = gid.y * p.seqRows;
  let s0 = gid.y * p.E * S;
  var h: array<f32, S>;
  var A: array<f32, S>;
  for (var n = 0u; n < S; n++) {
    A[n] = AD[c * S + n];
    h[n] = select(state[s0 + c * S + n], 0.0, p.zeroInit != 0u);
  }
  let Dc = AD[p.E * S + c];
  for (var t = r0; t < r0 + p.seqRows; t++) {
    let d = dt[t * p.E + c];
    let xv = x[t * p.E + c];
    var acc = 0.0;
    for (var n = 0u; n < S; n++) {
      h[n] = exp(d * A[n]) * h[n] + d * B[t * S + n] * xv;
      acc += C[t * S + n] * h[n];
      if (p.keepStates != 0u) { states[(t * p.E + c) * S + n] = h[n]; }
    }
    y[t * p.E + c] = acc + Dc * xv;
  }
  for (var n = 0u; n < S; n++) { state[s0 + c * S + n] = h[n]; }
}`,
  };
}

export interface ScanArgs {
  x: GpuTensor; // [T, E] conv output
  dt: GpuTensor; // [T, E]
  AD: GPUBuffer;
  B: GpuTensor; // [T, S]
  C: GpuTensor; // [T, S]
  state: GPUBuffer; // [T / seqRows, E, S]
  zeroInit: boolean;
  y: GpuTensor; // [T, E]
  states: GpuTensor | null; // [T, E, S]
  /** Rows per sequence (default T: one sequence). */
  seqRows?: number;
}

export function encodeScan(pass: Pass, a: ScanArgs, dummy: GPUBuffer): void {
  const [T, E] = a.x.shape;
  const S = a.B.shape[1];
  if (S > 64) throw new Error(`scan: d_state ${S} > 64 is not supported by this kernel`);
  const seqRows = a.seqRows ?? T;
  const sequences = seqRows === 0 ? 1 : T / seqRows;
  if (!Number.isInteger(sequences)) throw new Error(`scan: ${T} rows are not whole sequences of ${seqRows}`);
  const cpu = pass.profile === 'cpu-like';
  const channels = cpu ? 64 : Math.max(1, Math.floor(64 / S));
  pass.dispatch(
    cpu ? channelScanKernel(S) : scanKernel(S),
    P.pack({ T, E, zeroInit: a.zeroInit ? 1 : 0, keepStates: a.states ? 1 : 0, seqRows }),
    [a.x.buffer, a.dt.buffer, a.AD, a.B.buffer, a.C.buffer, a.state, a.y.buffer, a.states?.buffer ?? dummy],
    [Math.ceil(E / channels), sequences],
  );
}
