// The CPU reference engine: the Hymba forward pass written as the spec reads (hymba-spec.md §2.2–2.9),
// one named op at a time. It is the oracle for the WebGPU kernels and the fallback where WebGPU is missing.

import { ropeBase, type HymbaConfig, type LayerSpec } from '../config.ts';
import { weightF32, type Checkpoint } from '../checkpoint/load.ts';
import { betaMasks } from '../ablation.ts';
import { tensor, sliceCols, sliceRows, type Tensor } from '../tensor.ts';
import { matchTaps, validateIds, InputError, type Engine, type ForwardOptions, type ForwardResult, type Step } from '../model.ts';
import * as op from './ops.ts';
import { CpuSession } from '../session/cpu-session.ts';
import type { SessionOptions } from '../session/types.ts';

/** Weights as float32, by official name. */
export type F32Weights = (name: string) => Float32Array;

export function cpuWeights(ck: Checkpoint): F32Weights {
  return (name) => {
    const w = ck.weights.get(name);
    if (!w) throw new Error(`weight ${name} is not in the checkpoint`);
    return weightF32(w);
  };
}

/** Everything a pass computes, by tap name. */
type Env = Map<string, Tensor>;
/** An op: its tap name, its layer, and the code that computes it into the environment. */
interface Op {
  name: string;
  layer: number | null;
  run(env: Env): void;
}

/** The list of ops of one prefill pass over `ids`. Reading it top to bottom is reading the model. */
export function prefillOps(config: HymbaConfig, W: F32Weights, ids: number[], opts: ForwardOptions = {}): Op[] {
  const meta = opts.meta ?? true;
  validateIds(config, ids, meta);
  const M = meta ? config.numMetaTokens : 0;
  const N = M + ids.length;
  const D = config.hiddenSize;
  const eps = config.rmsNormEps;
  const positions = Array.from({ length: N }, (_, t) => t);
  const invFreq = op.ropeInvFreq(config.qkHeadDim, ropeBase(config));
  const window = opts.window ?? config.slidingWindow;
  if (!Number.isInteger(window) || window < 1) throw new InputError(`sliding window must be a positive integer, got ${window}`);
  const masks = betaMasks(config, opts.ablation ?? []);
  const ops: Op[] = [];
  const add = (name: string, layer: number | null, run: (env: Env) => Tensor) =>
    ops.push({ name, layer, run: (env) => void env.set(name, run(env)) });

  add('hidden_states.0', null, () => {
    // [meta tokens ; embeddings] — meta tokens are raw learned vectors, no scaling.
    const x = new Float32Array(N * D);
    if (M > 0) x.set(W('model.memory_tokens'));
    const emb = W('model.embed_tokens.weight');
    ids.forEach((id, j) => x.set(emb.subarray(id * D, (id + 1) * D), (M + j) * D));
    return tensor([N, D], x);
  });

  for (const l of config.layers) {
    const p = `layers.${l.index}.`;
    const w = (n: string) => W(`model.layers.${l.index}.${n}`);
    const x = `hidden_states.${l.index}`;
    add(p + 'input_norm', l.index, (env) => op.rmsnorm(env.get(x)!, w('input_layernorm.weight'), eps));
    add(p + 'in_proj', l.index, (env) => op.linear(env.get(p + 'input_norm')!, w('mamba.in_proj.weight'), l.rows.total, D));
    const cols = (env: Env, r: [number, number]) => sliceCols(env.get(p + 'in_proj')!, r[0], r[1]);

    if (l.hasAttention) attentionOps(l, config, w, add, cols, positions, invFreq, { window: l.global ? null : window, numMeta: M });
    if (l.hasSsm) ssmOps(l, config, w, add, cols, N);

    add(p + 'fused', l.index, (env) => {
      // m = (β1 ⊙ norm(attn) + β2 ⊙ norm(ssm)) / 2 — the paper's "mean fusion"; β are the RMSNorm gains.
      const branches: Tensor[] = [];
      if (l.hasAttention)
        branches.push(op.rmsnorm(env.get(p + 'attn_out')!, gain(w('mamba.pre_avg_layernorm1.weight'), masks[l.index].attn), eps));
      if (l.hasSsm) branches.push(op.rmsnorm(env.get(p + 'ssm_out')!, gain(w('mamba.pre_avg_layernorm2.weight'), masks[l.index].ssm), eps));
      const out = new Float32Array(branches[0].data.length);
      for (const b of branches) for (let i = 0; i < out.length; i++) out[i] += b.data[i] / branches.length;
      return tensor([N, config.dInner], out);
    });
    add(p + 'mixer_out', l.index, (env) => op.linear(env.get(p + 'fused')!, w('mamba.out_proj.weight'), D, config.dInner));
    add(p + 'mlp_out', l.index, (env) => {
      const h = op.add(env.get(x)!, env.get(p + 'mixer_out')!);
      env.set(p + 'residual_mid', h);
      const g = op.rmsnorm(h, w('pre_moe_layernorm.weight'), eps);
      return op.swiglu(
        g,
        w('moe.experts.0.gate_proj.weight'),
        w('moe.experts.0.up_proj.weight'),
        w('moe.experts.0.down_proj.weight'),
        config.intermediateSize,
      );
    });
    const last = l.index === config.numLayers - 1;
    const next = `hidden_states.${l.index + 1}`;
    add(last ? 'last_layer_output' : next, l.index, (env) => op.add(env.get(p + 'residual_mid')!, env.get(p + 'mlp_out')!));
    if (last) add(next, null, (env) => op.rmsnorm(env.get('last_layer_output')!, W('model.final_layernorm.weight'), eps));
  }

  add('logits', null, (env) => {
    // Tied head over the text rows only (the official code drops the meta rows first).
    const h = sliceRows(env.get(`hidden_states.${config.numLayers}`)!, M, N);
    const head = config.tieWordEmbeddings ? W('model.embed_tokens.weight') : W('lm_head.weight');
    return op.linear(h, head, config.vocabSize, D);
  });
  return ops;
}

function gain(beta: Float32Array, mask: Float32Array | null): Float32Array {
  if (!mask) return beta;
  return beta.map((b, i) => b * mask[i]);
}

type AddOp = (name: string, layer: number | null, run: (env: Env) => Tensor) => void;

function attentionOps(
  l: LayerSpec,
  c: HymbaConfig,
  w: (n: string) => Float32Array,
  add: AddOp,
  inProj: (env: Env, r: [number, number]) => Tensor,
  positions: number[],
  invFreq: Float32Array,
  rule: op.MaskRule,
): void {
  const p = `layers.${l.index}.`;
  const dqk = c.qkHeadDim;
  let cols = inProj;
  if (l.qkvConv > 0) {
    // lab_qkv_conv (Primer's multi-dconv-head attention): Q/K/V are read from a causal depthwise conv of their
    // in_proj columns over the whole sequence, meta tokens included, as the SSM's conv1d runs.
    add(p + 'attn.qkv_conv', l.index, (env) => {
      const zeros = tensor([l.qkvColumns, l.qkvConv - 1]);
      return op.causalConv1d(inProj(env, [0, l.qkvColumns]), w('mamba.qkv_conv.weight'), null, l.qkvConv, zeros, 'none').out;
    });
    // The Q/K/V ranges lie in [0, qkvColumns), so they index the convolved columns as they index in_proj.
    cols = (env, r) => sliceCols(env.get(p + 'attn.qkv_conv')!, r[0], r[1]);
  }
  add(p + 'attn.q', l.index, (env) => op.rope(cols(env, l.rows.q!), positions, l.numHeads, dqk, invFreq));
  if (l.ownsKv) {
    add(p + 'attn.k', l.index, (env) => op.rope(cols(env, l.rows.k!), positions, c.numKvHeads, dqk, invFreq));
    add(p + 'attn.v', l.index, (env) => cols(env, l.rows.v!));
  }
  // Consumers of a kv_reuse_group attend with their producer's K/V (post-RoPE), under their own mask.
  const src = `layers.${l.kvSource}.attn.`;
  add(p + 'attn.probs', l.index, (env) => {
    const r = op.attention(env.get(p + 'attn.q')!, env.get(src + 'k')!, env.get(src + 'v')!, positions, positions, rule, {
      heads: l.numHeads,
      kvHeads: c.numKvHeads,
      dqk,
      dv: l.vHeadDim,
    });
    env.set(p + 'attn_out', r.out);
    return r.probs;
  });
  add(p + 'attn_out', l.index, (env) => env.get(p + 'attn_out')!);
}

function ssmOps(
  l: LayerSpec,
  c: HymbaConfig,
  w: (n: string) => Float32Array,
  add: AddOp,
  cols: (env: Env, r: [number, number]) => Tensor,
  N: number,
): void {
  const p = `layers.${l.index}.`;
  const E = c.dInner;
  const S = c.dState;
  const R = c.dtRank;
  const eps = c.rmsNormEps;
  add(p + 'ssm.x', l.index, (env) => cols(env, l.rows.x!));
  add(p + 'ssm.conv', l.index, (env) => {
    const zeros = tensor([E, c.dConv - 1]);
    return op.causalConv1d(env.get(p + 'ssm.x')!, w('mamba.conv1d.weight'), c.convBias ? w('mamba.conv1d.bias') : null, c.dConv, zeros).out;
  });
  add(p + 'ssm.dt', l.index, (env) => {
    const s = op.linear(env.get(p + 'ssm.conv')!, w('mamba.x_proj.0.weight'), R + 2 * S, E);
    env.set(p + 'ssm.B', op.rmsnorm(sliceCols(s, R, R + S), w('mamba.B_layernorm.weight'), eps));
    env.set(p + 'ssm.C', op.rmsnorm(sliceCols(s, R + S, R + 2 * S), w('mamba.C_layernorm.weight'), eps));
    const dtr = op.rmsnorm(sliceCols(s, 0, R), w('mamba.dt_layernorm.weight'), eps);
    const dt = op.linear(dtr, w('mamba.dt_proj.0.weight'), E, R);
    const bias = w('mamba.dt_proj.0.bias');
    for (let t = 0; t < N; t++) for (let e = 0; e < E; e++) dt.data[t * E + e] = op.softplus(dt.data[t * E + e] + bias[e]);
    return dt;
  });
  add(p + 'ssm.B', l.index, (env) => env.get(p + 'ssm.B')!);
  add(p + 'ssm.C', l.index, (env) => env.get(p + 'ssm.C')!);
  add(p + 'ssm_out', l.index, (env) => {
    const A = w('mamba.A_log.0').map((a) => -Math.exp(a));
    const xc = env.get(p + 'ssm.conv')!;
    const r = op.selectiveScan(
      xc,
      env.get(p + 'ssm.dt')!,
      A,
      env.get(p + 'ssm.B')!,
      env.get(p + 'ssm.C')!,
      w('mamba.D.0'),
      tensor([E, S]),
      true,
    );
    env.set(p + 'ssm.state', r.h);
    env.set(p + 'ssm.states', r.states!);
    const z = cols(env, l.rows.z!);
    for (let i = 0; i < r.y.data.length; i++) r.y.data[i] *= op.silu(z.data[i]);
    return r.y;
  });
}

/** The CPU backend. */
export class CpuEngine implements Engine {
  readonly backend = 'cpu' as const;
  readonly config: HymbaConfig;
  readonly weights: F32Weights;
  constructor(ck: Checkpoint) {
    this.config = ck.config;
    this.weights = cpuWeights(ck);
  }

  async forward(ids: number[], opts: ForwardOptions = {}): Promise<ForwardResult> {
    const wanted = matchTaps(this.config, opts.taps);
    const env: Env = new Map();
    for (const o of prefillOps(this.config, this.weights, ids, opts)) o.run(env);
    const taps = new Map<string, Tensor>();
    for (const n of wanted) if (env.has(n)) taps.set(n, env.get(n)!);
    return { logits: env.get('logits')!, taps };
  }

  async *steps(ids: number[], opts: ForwardOptions = {}): AsyncGenerator<Step> {
    const ops = prefillOps(this.config, this.weights, ids, opts);
    const env: Env = new Map();
    for (let i = 0; i < ops.length; i++) {
      ops[i].run(env);
      yield {
        index: i,
        total: ops.length,
        name: ops[i].name,
        layer: ops[i].layer,
        read: async (name) => {
          const t = env.get(name);
          if (!t) throw new InputError(`tap "${name}" has not been computed yet (or does not exist)`);
          return t;
        },
      };
    }
  }

  /** An incremental-decoding session over real caches (engine/session/cpu-session.ts). */
  session(opts: SessionOptions = {}): CpuSession {
    return new CpuSession(this.config, this.weights, opts);
  }

  dispose(): void {}
}
