// The Hymba layer on the CPU, written once (hymba-spec.md §2.2–2.9), as the math reads:
//   x = x + out_proj((β1 ⊙ norm(attn(h)) + β2 ⊙ norm(ssm(h))) / 2),  h = norm(x)
//   x = x + mlp(norm(x))
// A pass runs a chunk of T tokens at positions p0 .. p0+T−1 from a sequence's state (KV caches, conv and SSM
// states) and leaves the state updated. The prefill forward pass (cpu/forward.ts) is one chunk from an empty state;
// a decode session (session/cpu-session.ts) feeds its prompt and every new token as chunks from what came before.
//
// The pass is a generator that yields every named intermediate of model.ts's tap table as soon as it is computed:
// the stepper pauses there, the forward pass records them, a session keeps the ones it was asked for.
//
// A chunk attends over [cache ; its own K/V] and only writes its K/V into the caches after the whole pass, so a long
// prompt's early queries still see keys that the SWA ring will drop (and consumers, later in the pass, see the same
// keys as their producer).

import { ropeBase, type HymbaConfig, type LayerSpec } from '../config.ts';
import { betaMasks, type Ablation } from '../ablation.ts';
import { weightF32, type Checkpoint } from '../checkpoint/load.ts';
import { kvEntries, swaKeep } from '../cache/calculator.ts';
import { InputError } from '../model.ts';
import { KvCache } from '../session/kv-cache.ts';
import type { WindowRule } from '../session/types.ts';
import { tensor, sliceCols, type Tensor } from '../tensor.ts';
import * as op from './ops.ts';

/** Weights as float32, by official name. */
export type F32Weights = (name: string) => Float32Array;

export function cpuWeights(ck: Checkpoint): F32Weights {
  return (name) => {
    const w = ck.weights.get(name);
    if (!w) throw new Error(`weight ${name} is not in the checkpoint`);
    return weightF32(w);
  };
}

/** A named intermediate (model.ts's tap table) as the pass computes it. */
export interface Tap {
  name: string;
  layer: number | null;
  value: Tensor;
}

/** The SSM states are taps the stepper does not pause on: they come with ssm_out. */
export function isStateTap(name: string): boolean {
  return name.endsWith('.ssm.state') || name.endsWith('.ssm.states');
}

/** The model a pass runs: config, weights, and the β masks of an ablation (which change every pass). */
export interface Model {
  config: HymbaConfig;
  W: F32Weights;
  masks: ReturnType<typeof betaMasks>;
  invFreq: Float32Array;
}

export function cpuModel(config: HymbaConfig, W: F32Weights, ablation: Ablation = []): Model {
  return { config, W, masks: betaMasks(config, ablation), invFreq: op.ropeInvFreq(config.qkHeadDim, ropeBase(config)) };
}

/** One layer's recurrent state. */
export interface LayerState {
  /** KV owners (global or SWA): post-RoPE K/V rows; consumers attend with their producer's. */
  kv: KvCache | null;
  /** The Q/K/V conv state [qkvColumns, W − 1] (lab_qkv_conv), null when the layer has none. */
  qkvConv: Tensor | null;
  /** SSM layers: the conv state (the last d_conv − 1 pre-conv inputs, [E, d_conv − 1]) and h [E, S], f32. */
  conv: Tensor | null;
  ssm: Tensor | null;
}

/** A sequence's state in every layer, empty at first; cache sizes are the calculator's (cache/calculator.ts). */
export class SequenceState {
  readonly layers: LayerState[];
  /** Positions processed (meta included); the next token sits at this position. */
  position = 0;

  constructor(config: HymbaConfig, o: { numMeta: number; window: number; windowRule: WindowRule; maxContext: number }) {
    if (!Number.isInteger(o.window) || o.window < 1) throw new InputError(`sliding window must be a positive integer, got ${o.window}`);
    this.layers = config.layers.map((l) => ({
      kv: l.ownsKv
        ? new KvCache({
            meta: o.numMeta,
            ring: l.global ? null : swaKeep(o.window, o.windowRule),
            kWidth: config.numKvHeads * config.qkHeadDim,
            vWidth: config.numKvHeads * l.vHeadDim,
            maxPositions: kvEntries(l, o.maxContext, o.numMeta, o.window, o.windowRule),
          })
        : null,
      qkvConv: l.qkvConv > 0 ? tensor([l.qkvColumns, l.qkvConv - 1]) : null,
      conv: l.hasSsm ? tensor([config.dInner, config.dConv - 1]) : null,
      ssm: l.hasSsm ? tensor([config.dInner, config.dState]) : null,
    }));
  }
}

/** How one chunk runs. */
export interface ChunkRule {
  /** Meta tokens of the sequence: keys every later query sees. */
  numMeta: number;
  /** The non-global layers' mask for this chunk: a query sees keys with q − k ≤ window. */
  window: number;
  /** Whether to keep the SSM state after every token for this tap ([T, E, S]: only when it is read). */
  keepStates: (name: string) => boolean;
}

/** Per KV owner: what this chunk attends over ([cache ; new rows]) and the new rows to commit after the pass. */
type Attended = Map<number, { k: Tensor; v: Tensor; positions: number[]; newK: Tensor; newV: Tensor }>;

/** Rows [meta tokens (the first `metaRows`) ; embeddings of `ids`]: the input of layer 0. Meta tokens are not scaled. */
export function embed(m: Model, ids: number[], metaRows: number): Tensor {
  const D = m.config.hiddenSize;
  const x = new Float32Array((metaRows + ids.length) * D);
  if (metaRows > 0) x.set(m.W('model.memory_tokens').subarray(0, metaRows * D));
  const emb = m.W('model.embed_tokens.weight');
  ids.forEach((id, j) => x.set(emb.subarray(id * D, (id + 1) * D), (metaRows + j) * D));
  return tensor([metaRows + ids.length, D], x);
}

/** The tied (or separate) LM head over hidden rows [T, D] → [T, V]. */
export function lmHead(m: Model, hidden: Tensor): Tensor {
  const c = m.config;
  return op.linear(hidden, c.tieWordEmbeddings ? m.W('model.embed_tokens.weight') : m.W('lm_head.weight'), c.vocabSize, c.hiddenSize);
}

/** Run the layers on the chunk `x` [T, D] from `state`, then the final norm; returns the final-normed rows [T, D]. */
export function* hymbaPass(m: Model, state: SequenceState, x: Tensor, rule: ChunkRule): Generator<Tap, Tensor> {
  const c = m.config;
  const positions = Array.from({ length: x.shape[0] }, (_, t) => state.position + t);
  const attended: Attended = new Map();
  yield { name: 'hidden_states.0', layer: null, value: x };
  for (const l of c.layers) x = yield* layer(m, l, state.layers[l.index], x, positions, attended, rule);
  // Only now do the SWA rings drop what this chunk's early queries needed.
  for (const [i, a] of attended) state.layers[i].kv!.append(a.newK, a.newV);
  state.position += positions.length;
  const out = op.rmsnorm(x, m.W('model.final_layernorm.weight'), c.rmsNormEps);
  yield { name: `hidden_states.${c.numLayers}`, layer: null, value: out };
  return out;
}

/** Drive a pass to its end, handing each tap to `onTap`; returns what the pass returns. */
export function runPass(pass: Generator<Tap, Tensor>, onTap: (t: Tap) => void): Tensor {
  for (;;) {
    const r = pass.next();
    if (r.done) return r.value;
    onTap(r.value);
  }
}

function* layer(
  m: Model,
  l: LayerSpec,
  s: LayerState,
  x: Tensor,
  positions: number[],
  kv: Attended,
  rule: ChunkRule,
): Generator<Tap, Tensor> {
  const c = m.config;
  const eps = c.rmsNormEps;
  const w = (n: string) => m.W(`model.layers.${l.index}.${n}`);
  const tap = (name: string, value: Tensor): Tap => ({ name: `layers.${l.index}.${name}`, layer: l.index, value });

  const h = op.rmsnorm(x, w('input_layernorm.weight'), eps);
  yield tap('input_norm', h);
  const proj = op.linear(h, w('mamba.in_proj.weight'), l.rows.total, c.hiddenSize);
  yield tap('in_proj', proj);

  const branches: Tensor[] = [];
  if (l.hasAttention) {
    const a = yield* attention(m, l, s, proj, positions, kv, rule);
    branches.push(op.rmsnorm(a, gain(w('mamba.pre_avg_layernorm1.weight'), m.masks[l.index].attn), eps));
  }
  if (l.hasSsm) {
    const y = yield* ssm(m, l, s, proj, rule);
    branches.push(op.rmsnorm(y, gain(w('mamba.pre_avg_layernorm2.weight'), m.masks[l.index].ssm), eps));
  }
  // m = (β1 ⊙ norm(attn) + β2 ⊙ norm(ssm)) / 2 — the paper's "mean fusion"; β are the RMSNorm gains.
  const fused = tensor([x.shape[0], c.dInner]);
  for (const b of branches) for (let i = 0; i < fused.data.length; i++) fused.data[i] += b.data[i] / branches.length;
  yield tap('fused', fused);
  const mixer = op.linear(fused, w('mamba.out_proj.weight'), c.hiddenSize, c.dInner);
  yield tap('mixer_out', mixer);
  const mid = op.add(x, mixer);

  const ffn = op.rmsnorm(mid, w('pre_moe_layernorm.weight'), eps);
  const mlp = op.swiglu(
    ffn,
    w('moe.experts.0.gate_proj.weight'),
    w('moe.experts.0.up_proj.weight'),
    w('moe.experts.0.down_proj.weight'),
    c.intermediateSize,
  );
  yield tap('mlp_out', mlp);
  const out = op.add(mid, mlp);
  const last = l.index === c.numLayers - 1;
  yield { name: last ? 'last_layer_output' : `hidden_states.${l.index + 1}`, layer: l.index, value: out };
  return out;
}

/**
 * The attention branch. Q/K/V are read from in_proj, or with lab_qkv_conv (Primer's multi-dconv-head attention)
 * from a causal depthwise conv of its first qkvColumns columns, continued from the layer's conv state: it runs over
 * the whole sequence, meta tokens included, as the SSM's conv1d does. The Q/K/V ranges lie in [0, qkvColumns), so
 * they index either tensor alike. Consumers of a kv_reuse_group attend with their producer's K/V (post-RoPE), under
 * their own mask: global causal, or SWA q − k ≤ rule.window, meta tokens always visible.
 */
function* attention(
  m: Model,
  l: LayerSpec,
  s: LayerState,
  proj: Tensor,
  positions: number[],
  kv: Attended,
  rule: ChunkRule,
): Generator<Tap, Tensor> {
  const c = m.config;
  const tap = (name: string, value: Tensor): Tap => ({ name: `layers.${l.index}.${name}`, layer: l.index, value });
  let qkv = proj;
  if (l.qkvConv > 0) {
    const w = m.W(`model.layers.${l.index}.mamba.qkv_conv.weight`);
    const conv = op.causalConv1d(sliceCols(proj, 0, l.qkvColumns), w, null, l.qkvConv, s.qkvConv!, 'none');
    s.qkvConv = conv.state;
    qkv = conv.out;
    yield tap('attn.qkv_conv', qkv);
  }
  const cols = (r: [number, number] | null) => sliceCols(qkv, r![0], r![1]);
  const q = op.rope(cols(l.rows.q), positions, l.numHeads, c.qkHeadDim, m.invFreq);
  yield tap('attn.q', q);
  if (l.ownsKv) {
    const k = op.rope(cols(l.rows.k), positions, c.numKvHeads, c.qkHeadDim, m.invFreq);
    const v = cols(l.rows.v);
    yield tap('attn.k', k);
    yield tap('attn.v', v);
    const held = s.kv!.read();
    kv.set(l.index, { k: concatRows(held.k, k), v: concatRows(held.v, v), positions: held.positions.concat(positions), newK: k, newV: v });
  }
  const src = kv.get(l.kvSource)!;
  const mask = { window: l.global ? null : rule.window, numMeta: rule.numMeta };
  const r = op.attention(q, src.k, src.v, positions, src.positions, mask, {
    heads: l.numHeads,
    kvHeads: c.numKvHeads,
    dqk: c.qkHeadDim,
    dv: l.vHeadDim,
  });
  yield tap('attn.probs', r.probs);
  yield tap('attn_out', r.out);
  return r.out;
}

/** The SSM branch from the layer's conv and SSM state: (scan + D·x) ⊙ SiLU(z); updates the state. */
function* ssm(m: Model, l: LayerSpec, s: LayerState, proj: Tensor, rule: ChunkRule): Generator<Tap, Tensor> {
  const c = m.config;
  const w = (n: string) => m.W(`model.layers.${l.index}.${n}`);
  const tap = (name: string, value: Tensor): Tap => ({ name: `layers.${l.index}.${name}`, layer: l.index, value });
  const E = c.dInner;
  const S = c.dState;
  const R = c.dtRank;
  const eps = c.rmsNormEps;
  const xs = sliceCols(proj, l.rows.x![0], l.rows.x![1]);
  yield tap('ssm.x', xs);
  const conv = op.causalConv1d(xs, w('mamba.conv1d.weight'), c.convBias ? w('mamba.conv1d.bias') : null, c.dConv, s.conv!);
  s.conv = conv.state;
  const xc = conv.out;
  yield tap('ssm.conv', xc);
  const sel = op.linear(xc, w('mamba.x_proj.0.weight'), R + 2 * S, E);
  const B = op.rmsnorm(sliceCols(sel, R, R + S), w('mamba.B_layernorm.weight'), eps);
  const C = op.rmsnorm(sliceCols(sel, R + S, R + 2 * S), w('mamba.C_layernorm.weight'), eps);
  const dt = op.linear(op.rmsnorm(sliceCols(sel, 0, R), w('mamba.dt_layernorm.weight'), eps), w('mamba.dt_proj.0.weight'), E, R);
  const bias = w('mamba.dt_proj.0.bias');
  for (let t = 0; t < xs.shape[0]; t++) for (let e = 0; e < E; e++) dt.data[t * E + e] = op.softplus(dt.data[t * E + e] + bias[e]);
  yield tap('ssm.dt', dt);
  yield tap('ssm.B', B);
  yield tap('ssm.C', C);
  const A = w('mamba.A_log.0').map((a) => -Math.exp(a));
  const statesTap = `layers.${l.index}.ssm.states`;
  const r = op.selectiveScan(xc, dt, A, B, C, w('mamba.D.0'), s.ssm!, rule.keepStates(statesTap));
  s.ssm = r.h;
  yield tap('ssm.state', r.h);
  if (r.states) yield tap('ssm.states', r.states);
  const z = sliceCols(proj, l.rows.z![0], l.rows.z![1]);
  for (let i = 0; i < r.y.data.length; i++) r.y.data[i] *= op.silu(z.data[i]);
  yield tap('ssm_out', r.y);
  return r.y;
}

function gain(beta: Float32Array, mask: Float32Array | null): Float32Array {
  return mask ? beta.map((b, i) => b * mask[i]) : beta;
}

function concatRows(a: Tensor, b: Tensor): Tensor {
  const out = new Float32Array(a.data.length + b.data.length);
  out.set(a.data);
  out.set(b.data, a.data.length);
  return tensor([a.shape[0] + b.shape[0], b.shape[1]], out);
}
