// Incremental generation on the CPU (hymba-spec.md §2.10–2.11): prefill a prompt once, then decode one token at a
// time over real caches instead of re-running the whole sequence.
//
// Per-sequence state, per layer:
//   KV owners (global or SWA): a KvCache of post-RoPE K/V rows — global layers keep every position, SWA owners keep
//     the M meta slots plus a ring of the newest W (`hf`) or W + 1 (`prefill`) positions;
//   consumers: nothing of their own — they attend with their producer's cache;
//   SSM layers: the conv state (the last d_conv − 1 pre-conv inputs, [E, d_conv − 1]) and the SSM state h [E, S], f32;
//   attention layers with lab_qkv_conv = W: the Q/K/V conv state, the last W − 1 pre-conv rows of in_proj's first
//     qkvColumns columns ([qkvColumns, W − 1], f32; counted in conv_state_bytes with the SSM's conv state).
//
// Every call runs the same layer code on a chunk of T tokens at absolute positions p0 .. p0+T−1, starting from that
// state: the prefill is one chunk under the prefill mask (q − k ≤ W), a decode step is a chunk of one token under the
// decode rule (q − k ≤ W − 1 for `hf`, ≤ W for `prefill`). A chunk attends over [cache ; its own K/V] and only
// writes its K/V into the caches after the whole pass, so a long prompt's early queries still see keys that the
// SWA ring will drop (and consumers, later in the pass, see the same keys as their producer).
//
// Meta tokens are computed once per model (§2.11): they sit at positions 0..M−1 before any text, so their layer
// state never depends on the prompt. The first session of a model runs them and keeps the state; every later session
// starts from a copy and its prefill starts at position M.

import { ropeBase, type HymbaConfig, type LayerSpec } from '../config.ts';
import { betaMasks, formatAblation } from '../ablation.ts';
import { InputError, matchTaps, validateIds } from '../model.ts';
import { tensor, sliceCols, sliceRows, type Tensor } from '../tensor.ts';
import type { F32Weights } from '../cpu/forward.ts';
import * as op from '../cpu/ops.ts';
import { KvCache } from './kv-cache.ts';
import type { CacheUsage, DecodeSession, KvSnapshot, LayerCacheUsage, SessionOptions, StepResult, WindowRule } from './types.ts';
import { attentionKind, totalUsage } from './usage.ts';

/** One layer's recurrent state. */
interface LayerState {
  kv: KvCache | null;
  /** The Q/K/V conv state [qkvColumns, W − 1] (lab_qkv_conv), null when the layer has none. */
  qkvConv: Tensor | null;
  conv: Tensor | null;
  ssm: Tensor | null;
}

/** The state the M meta tokens leave behind: their K/V rows per owner, Q/K/V conv state, conv/SSM state per SSM layer. */
interface MetaState {
  kv: Array<{ k: Tensor; v: Tensor } | null>;
  qkvConv: Array<Tensor | null>;
  conv: Array<Tensor | null>;
  ssm: Array<Tensor | null>;
}

/** Meta states per model (its weights accessor) and per ablation (which changes what meta tokens compute). */
const metaStates = new WeakMap<F32Weights, Map<string, MetaState>>();

const BYTES_F32 = 4;

export class CpuSession implements DecodeSession {
  readonly config: HymbaConfig;
  readonly windowRule: WindowRule;
  readonly window: number;
  /** Meta tokens in this sequence (0 when meta tokens are off). */
  readonly numMeta: number;
  /** Text tokens the session may hold (prompt + generated). */
  readonly maxContext: number;
  /** Whether this session started from the model's precomputed meta state (false: its prefill runs them). */
  readonly metaFromCache: boolean;
  private readonly W: F32Weights;
  private readonly masks: ReturnType<typeof betaMasks>;
  private readonly invFreq: Float32Array;
  private readonly wanted: Set<string>;
  private readonly layers: LayerState[];
  /** Positions processed (meta included); the next token sits at this position. */
  private position = 0;
  private textLength = 0;

  constructor(config: HymbaConfig, weights: F32Weights, opts: SessionOptions = {}) {
    this.config = config;
    this.W = weights;
    this.windowRule = opts.windowRule ?? 'hf';
    if (this.windowRule !== 'hf' && this.windowRule !== 'prefill')
      throw new InputError(`windowRule must be "hf" or "prefill", got ${JSON.stringify(this.windowRule)}`);
    this.window = opts.window ?? config.slidingWindow;
    if (!Number.isInteger(this.window) || this.window < 1)
      throw new InputError(`sliding window must be a positive integer, got ${this.window}`);
    this.numMeta = (opts.meta ?? true) ? config.numMetaTokens : 0;
    this.maxContext = opts.maxContext ?? config.maxPositionEmbeddings;
    if (!Number.isInteger(this.maxContext) || this.maxContext < 1)
      throw new InputError(`maxContext must be a positive integer, got ${this.maxContext}`);
    const ablation = opts.ablation ?? [];
    this.masks = betaMasks(config, ablation);
    this.invFreq = op.ropeInvFreq(config.qkHeadDim, ropeBase(config));
    this.wanted = matchTaps(config, opts.taps);
    const ring = this.windowRule === 'hf' ? this.window : this.window + 1;
    this.layers = config.layers.map((l) => ({
      kv: l.ownsKv
        ? new KvCache({
            meta: this.numMeta,
            ring: l.global ? null : ring,
            kWidth: config.numKvHeads * config.qkHeadDim,
            vWidth: config.numKvHeads * l.vHeadDim,
            maxPositions: this.numMeta + this.maxContext,
          })
        : null,
      qkvConv: l.qkvConv > 0 ? tensor([l.qkvColumns, l.qkvConv - 1]) : null,
      conv: l.hasSsm ? tensor([config.dInner, config.dConv - 1]) : null,
      ssm: l.hasSsm ? tensor([config.dInner, config.dState]) : null,
    }));

    this.metaFromCache = this.numMeta > 0 && (opts.reuseMetaState ?? true);
    if (this.metaFromCache) {
      // The first session of a model computes the meta state in a scratch session (empty state, same ablation).
      const scratch = () => new CpuSession(config, weights, { ...opts, taps: undefined, reuseMetaState: false }).computeMetaState();
      this.restore(metaStateFor(weights, formatAblation(ablation), scratch));
    }
  }

  get length(): number {
    return this.textLength;
  }

  /** Run the M meta tokens from an empty state and keep what they leave in every layer. */
  private computeMetaState(): MetaState {
    this.chunk(tensor([this.numMeta, this.config.hiddenSize], this.W('model.memory_tokens').slice()), 'prefill', 0, new Map());
    return {
      kv: this.layers.map((s) => (s.kv ? s.kv.read() : null)),
      qkvConv: this.layers.map((s) => s.qkvConv),
      conv: this.layers.map((s) => s.conv),
      ssm: this.layers.map((s) => s.ssm),
    };
  }

  private restore(meta: MetaState): void {
    this.layers.forEach((s, i) => {
      const kv = meta.kv[i];
      if (s.kv && kv) s.kv.append(kv.k, kv.v);
      // Copies: the states are updated by replacement, but a shared Float32Array must never be written through.
      s.qkvConv = copy(meta.qkvConv[i]);
      s.conv = copy(meta.conv[i]);
      s.ssm = copy(meta.ssm[i]);
    });
    this.position = this.numMeta;
  }

  /** Feed prompt tokens (the first call, or a continuation) under the prefill mask; logits of the last one. */
  async prefill(ids: number[]): Promise<StepResult> {
    validateIds(this.config, ids, this.numMeta > 0);
    this.checkRoom(ids.length);
    const D = this.config.hiddenSize;
    // Without a precomputed meta state, the first prefill runs the meta tokens itself, in front of the text.
    const metaRows = this.position === 0 ? this.numMeta : 0;
    const x = new Float32Array((metaRows + ids.length) * D);
    if (metaRows > 0) x.set(this.W('model.memory_tokens'));
    const emb = this.W('model.embed_tokens.weight');
    ids.forEach((id, j) => x.set(emb.subarray(id * D, (id + 1) * D), (metaRows + j) * D));
    return this.run(tensor([metaRows + ids.length, D], x), 'prefill', metaRows, ids.length);
  }

  /** Feed one token under the decode rule; logits of the next. */
  async step(id: number): Promise<StepResult> {
    if (this.textLength === 0) throw new InputError('step() before prefill(): feed the prompt with prefill() first');
    validateIds(this.config, [id], this.numMeta > 0);
    this.checkRoom(1);
    const D = this.config.hiddenSize;
    return this.run(tensor([1, D], this.W('model.embed_tokens.weight').slice(id * D, (id + 1) * D)), 'decode', 0, 1);
  }

  private checkRoom(n: number): void {
    if (this.textLength + n > this.maxContext) {
      throw new InputError(
        `the session holds ${this.textLength} tokens and can take ${this.maxContext - this.textLength} more (maxContext ${this.maxContext}); got ${n}`,
      );
    }
  }

  private run(x: Tensor, mask: 'prefill' | 'decode', metaRows: number, textRows: number): StepResult {
    const env = new Map<string, Tensor>();
    const hidden = this.chunk(x, mask, metaRows, env);
    const c = this.config;
    const last = sliceRows(hidden, hidden.shape[0] - 1, hidden.shape[0]);
    const head = c.tieWordEmbeddings ? this.W('model.embed_tokens.weight') : this.W('lm_head.weight');
    const logits = op.linear(last, head, c.vocabSize, c.hiddenSize).data;
    if (this.wanted.has('logits'))
      env.set('logits', op.linear(sliceRows(hidden, metaRows, hidden.shape[0]), head, c.vocabSize, c.hiddenSize));
    this.textLength += textRows;
    return { logits, taps: env };
  }

  /**
   * The forward pass of one chunk from the current state: layers in order, then the final norm. Updates every
   * cache and state; records the wanted taps (text rows only: the first `metaRows` rows are dropped) into `taps`.
   * Returns the final-normed hidden states [T, D].
   */
  private chunk(x: Tensor, mask: 'prefill' | 'decode', metaRows: number, taps: Map<string, Tensor>): Tensor {
    const c = this.config;
    const T = x.shape[0];
    const positions = Array.from({ length: T }, (_, t) => this.position + t);
    const tap = (name: string, value: Tensor) => {
      if (this.wanted.has(name)) taps.set(name, metaRows > 0 ? dropRows(name, value, metaRows) : value);
    };
    // Per KV owner: what this chunk attends over ([cache ; new rows]) and the new rows to commit afterwards.
    const views = new Map<number, { k: Tensor; v: Tensor; positions: number[]; newK: Tensor; newV: Tensor }>();

    tap('hidden_states.0', x);
    for (const l of c.layers) {
      const p = `layers.${l.index}.`;
      const w = (n: string) => this.W(`model.layers.${l.index}.${n}`);
      const s = this.layers[l.index];
      const h = op.rmsnorm(x, w('input_layernorm.weight'), c.rmsNormEps);
      tap(p + 'input_norm', h);
      const proj = op.linear(h, w('mamba.in_proj.weight'), l.rows.total, c.hiddenSize);
      tap(p + 'in_proj', proj);
      const cols = (r: [number, number] | null) => sliceCols(proj, r![0], r![1]);

      const branches: Tensor[] = [];
      if (l.hasAttention) {
        const qkv = this.qkvConv(l, s, proj, tap);
        const qkvCols = (r: [number, number] | null) => sliceCols(qkv, r![0], r![1]);
        const q = op.rope(qkvCols(l.rows.q), positions, l.numHeads, c.qkHeadDim, this.invFreq);
        tap(p + 'attn.q', q);
        if (l.ownsKv) {
          const newK = op.rope(qkvCols(l.rows.k), positions, c.numKvHeads, c.qkHeadDim, this.invFreq);
          const newV = qkvCols(l.rows.v);
          tap(p + 'attn.k', newK);
          tap(p + 'attn.v', newV);
          const held = s.kv!.read();
          views.set(l.index, {
            k: concatRows(held.k, newK),
            v: concatRows(held.v, newV),
            positions: held.positions.concat(positions),
            newK,
            newV,
          });
        }
        const kv = views.get(l.kvSource)!;
        const r = op.attention(q, kv.k, kv.v, positions, kv.positions, this.maskRule(l, mask), {
          heads: l.numHeads,
          kvHeads: c.numKvHeads,
          dqk: c.qkHeadDim,
          dv: l.vHeadDim,
        });
        tap(p + 'attn.probs', r.probs);
        tap(p + 'attn_out', r.out);
        branches.push(op.rmsnorm(r.out, gain(w('mamba.pre_avg_layernorm1.weight'), this.masks[l.index].attn), c.rmsNormEps));
      }
      if (l.hasSsm) {
        const y = this.ssm(l, s, cols(l.rows.x), cols(l.rows.z), tap);
        branches.push(op.rmsnorm(y, gain(w('mamba.pre_avg_layernorm2.weight'), this.masks[l.index].ssm), c.rmsNormEps));
      }

      // m = (β1 ⊙ norm(attn) + β2 ⊙ norm(ssm)) / 2, the mean fusion.
      const fused = new Float32Array(T * c.dInner);
      for (const b of branches) for (let i = 0; i < fused.length; i++) fused[i] += b.data[i] / branches.length;
      tap(p + 'fused', tensor([T, c.dInner], fused));
      const mixer = op.linear(tensor([T, c.dInner], fused), w('mamba.out_proj.weight'), c.hiddenSize, c.dInner);
      tap(p + 'mixer_out', mixer);
      const mid = op.add(x, mixer);
      const g = op.rmsnorm(mid, w('pre_moe_layernorm.weight'), c.rmsNormEps);
      const mlp = op.swiglu(
        g,
        w('moe.experts.0.gate_proj.weight'),
        w('moe.experts.0.up_proj.weight'),
        w('moe.experts.0.down_proj.weight'),
        c.intermediateSize,
      );
      tap(p + 'mlp_out', mlp);
      x = op.add(mid, mlp);
      tap(l.index === c.numLayers - 1 ? 'last_layer_output' : `hidden_states.${l.index + 1}`, x);
    }

    // Only now do the SWA rings drop what this chunk's early queries needed.
    for (const [layer, view] of views) this.layers[layer].kv!.append(view.newK, view.newV);
    this.position += T;
    const out = op.rmsnorm(x, this.W('model.final_layernorm.weight'), c.rmsNormEps);
    tap(`hidden_states.${c.numLayers}`, out);
    return out;
  }

  /** Which keys a query sees: global causal; SWA q − k ≤ W in prefill, and W − 1 (`hf`) or W (`prefill`) in decode. */
  private maskRule(l: LayerSpec, mask: 'prefill' | 'decode'): op.MaskRule {
    if (l.global) return { window: null, numMeta: this.numMeta };
    const window = mask === 'decode' && this.windowRule === 'hf' ? this.window - 1 : this.window;
    return { window, numMeta: this.numMeta };
  }

  /**
   * Where the attention branch reads Q/K/V: in_proj itself, or with lab_qkv_conv the causal depthwise conv of its
   * first qkvColumns columns, continued from the layer's conv state (which it updates). The Q/K/V ranges lie in
   * [0, qkvColumns), so they index either tensor alike.
   */
  private qkvConv(l: LayerSpec, s: LayerState, proj: Tensor, tap: (name: string, t: Tensor) => void): Tensor {
    if (l.qkvConv === 0) return proj;
    const w = this.W(`model.layers.${l.index}.mamba.qkv_conv.weight`);
    const conv = op.causalConv1d(sliceCols(proj, 0, l.qkvColumns), w, null, l.qkvConv, s.qkvConv!, 'none');
    s.qkvConv = conv.state;
    tap(`layers.${l.index}.attn.qkv_conv`, conv.out);
    return conv.out;
  }

  /** The SSM branch from the layer's conv and SSM state; returns (scan + D·x) ⊙ SiLU(z) and updates the state. */
  private ssm(l: LayerSpec, s: LayerState, xs: Tensor, z: Tensor, tap: (name: string, t: Tensor) => void): Tensor {
    const c = this.config;
    const p = `layers.${l.index}.`;
    const w = (n: string) => this.W(`model.layers.${l.index}.${n}`);
    const E = c.dInner;
    const S = c.dState;
    const R = c.dtRank;
    const T = xs.shape[0];
    tap(p + 'ssm.x', xs);
    const conv = op.causalConv1d(xs, w('mamba.conv1d.weight'), c.convBias ? w('mamba.conv1d.bias') : null, c.dConv, s.conv!);
    s.conv = conv.state;
    const xc = conv.out;
    tap(p + 'ssm.conv', xc);
    const proj = op.linear(xc, w('mamba.x_proj.0.weight'), R + 2 * S, E);
    const B = op.rmsnorm(sliceCols(proj, R, R + S), w('mamba.B_layernorm.weight'), c.rmsNormEps);
    const C = op.rmsnorm(sliceCols(proj, R + S, R + 2 * S), w('mamba.C_layernorm.weight'), c.rmsNormEps);
    const dt = op.linear(
      op.rmsnorm(sliceCols(proj, 0, R), w('mamba.dt_layernorm.weight'), c.rmsNormEps),
      w('mamba.dt_proj.0.weight'),
      E,
      R,
    );
    const bias = w('mamba.dt_proj.0.bias');
    for (let t = 0; t < T; t++) for (let e = 0; e < E; e++) dt.data[t * E + e] = op.softplus(dt.data[t * E + e] + bias[e]);
    tap(p + 'ssm.dt', dt);
    tap(p + 'ssm.B', B);
    tap(p + 'ssm.C', C);
    const A = w('mamba.A_log.0').map((a) => -Math.exp(a));
    const r = op.selectiveScan(xc, dt, A, B, C, w('mamba.D.0'), s.ssm!, this.wanted.has(p + 'ssm.states'));
    s.ssm = r.h;
    tap(p + 'ssm.state', r.h);
    if (r.states) tap(p + 'ssm.states', r.states);
    for (let i = 0; i < r.y.data.length; i++) r.y.data[i] *= op.silu(z.data[i]);
    tap(p + 'ssm_out', r.y);
    return r.y;
  }

  cacheUsage(): CacheUsage {
    const c = this.config;
    const layers = c.layers.map((l): LayerCacheUsage => {
      const s = this.layers[l.index];
      const perEntry = s.kv ? (s.kv.kWidth + s.kv.vWidth) * BYTES_F32 : 0;
      return {
        layer: l.index,
        attention: attentionKind(l),
        kvSource: l.kvSource,
        kvEntries: s.kv ? s.kv.entries : 0,
        kv_bytes: s.kv ? s.kv.entries * perEntry : 0,
        conv_state_bytes: ((s.conv ? s.conv.data.length : 0) + (s.qkvConv ? s.qkvConv.data.length : 0)) * BYTES_F32,
        ssm_state_bytes: s.ssm ? s.ssm.data.length * BYTES_F32 : 0,
      };
    });
    const reserved = this.layers.reduce((a, s) => a + (s.kv ? s.kv.slots * (s.kv.kWidth + s.kv.vWidth) * BYTES_F32 : 0), 0);
    return totalUsage(layers, reserved);
  }

  /** The KV cache a layer attends with (a consumer gets its producer's, with `layer` = the producer); null without attention. */
  async readKv(layer: number): Promise<KvSnapshot | null> {
    const l = this.config.layers[layer];
    if (!l) throw new InputError(`layer ${layer} does not exist (the model has ${this.config.numLayers} layers)`);
    if (!l.hasAttention) return null;
    const held = this.layers[l.kvSource].kv!.read();
    return { layer: l.kvSource, positions: held.positions, k: held.k, v: held.v };
  }

  dispose(): void {
    this.layers.length = 0;
  }
}

function metaStateFor(weights: F32Weights, key: string, compute: () => MetaState): MetaState {
  let byAblation = metaStates.get(weights);
  if (!byAblation) metaStates.set(weights, (byAblation = new Map()));
  let state = byAblation.get(key);
  if (!state) byAblation.set(key, (state = compute()));
  return state;
}

function copy(t: Tensor | null): Tensor | null {
  return t && tensor(t.shape.slice(), t.data.slice());
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

/** A tap without its first `n` (meta) query rows: dim 1 of attention probs [H, T, Tk], dim 0 of the rest. */
function dropRows(name: string, t: Tensor, n: number): Tensor {
  if (name.endsWith('.ssm.state')) return t; // [E, S], not per row
  if (name.endsWith('.attn.probs')) {
    const [H, T, Tk] = t.shape;
    const out = new Float32Array(H * (T - n) * Tk);
    for (let h = 0; h < H; h++) out.set(t.data.subarray((h * T + n) * Tk, (h + 1) * T * Tk), h * (T - n) * Tk);
    return tensor([H, T - n, Tk], out);
  }
  const row = t.data.length / t.shape[0];
  return tensor([t.shape[0] - n, ...t.shape.slice(1)], t.data.slice(n * row));
}
