// Incremental generation on the CPU (hymba-spec.md §2.10–2.11): prefill a prompt once, then decode one token at a
// time over real caches instead of re-running the whole sequence.
//
// The per-sequence state and the layer code are cpu/layer.ts's: every call runs one chunk of T tokens at absolute
// positions p0 .. p0+T−1 from that state. The prefill is one chunk under the prefill mask (q − k ≤ W), a decode step
// is a chunk of one token under the decode rule (q − k ≤ W − 1 for `hf`, ≤ W for `prefill`). The SWA rings keep the
// M meta slots plus the newest W (`hf`) or W + 1 (`prefill`) positions (cache/calculator.ts `swaKeep`).
//
// Meta tokens are computed once per model (§2.11): they sit at positions 0..M−1 before any text, so their layer
// state never depends on the prompt. The first session of a model runs them and keeps the state; every later session
// starts from a copy and its prefill starts at position M.

import type { HymbaConfig } from '../config.ts';
import { formatAblation } from '../ablation.ts';
import { kvEntryBytes, layerCache, toCacheUsage, totals } from '../cache/calculator.ts';
import { InputError, matchTaps, validateIds } from '../model.ts';
import { tensor, sliceRows, type Tensor } from '../tensor.ts';
import { cpuModel, embed, hymbaPass, lmHead, runPass, SequenceState, type F32Weights, type Model } from '../cpu/layer.ts';
import type { CacheUsage, DecodeSession, KvSnapshot, SessionOptions, StepResult, WindowRule } from './types.ts';

/** The state the M meta tokens leave behind: their K/V rows per owner, Q/K/V conv state, conv/SSM state per SSM layer. */
interface MetaState {
  kv: Array<{ k: Tensor; v: Tensor } | null>;
  qkvConv: Array<Tensor | null>;
  conv: Array<Tensor | null>;
  ssm: Array<Tensor | null>;
}

/** Meta states per model (its weights accessor) and per ablation (which changes what meta tokens compute). */
const metaStates = new WeakMap<F32Weights, Map<string, MetaState>>();

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
  private readonly model: Model;
  private readonly wanted: Set<string>;
  private readonly state: SequenceState;
  private textLength = 0;

  constructor(config: HymbaConfig, weights: F32Weights, opts: SessionOptions = {}) {
    this.config = config;
    this.windowRule = opts.windowRule ?? 'hf';
    if (this.windowRule !== 'hf' && this.windowRule !== 'prefill')
      throw new InputError(`windowRule must be "hf" or "prefill", got ${JSON.stringify(this.windowRule)}`);
    this.window = opts.window ?? config.slidingWindow;
    this.numMeta = (opts.meta ?? true) ? config.numMetaTokens : 0;
    this.maxContext = opts.maxContext ?? config.maxPositionEmbeddings;
    if (!Number.isInteger(this.maxContext) || this.maxContext < 1)
      throw new InputError(`maxContext must be a positive integer, got ${this.maxContext}`);
    const ablation = opts.ablation ?? [];
    this.model = cpuModel(config, weights, ablation);
    this.wanted = matchTaps(config, opts.taps);
    this.state = new SequenceState(config, {
      numMeta: this.numMeta,
      window: this.window,
      windowRule: this.windowRule,
      maxContext: this.maxContext,
    });

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
    this.chunk(embed(this.model, [], this.numMeta), 'prefill', 0);
    const layers = this.state.layers;
    return {
      kv: layers.map((s) => (s.kv ? s.kv.read() : null)),
      qkvConv: layers.map((s) => s.qkvConv),
      conv: layers.map((s) => s.conv),
      ssm: layers.map((s) => s.ssm),
    };
  }

  private restore(meta: MetaState): void {
    this.state.layers.forEach((s, i) => {
      const kv = meta.kv[i];
      if (s.kv && kv) s.kv.append(kv.k, kv.v);
      // Copies: the states are updated by replacement, but a shared Float32Array must never be written through.
      s.qkvConv = copy(meta.qkvConv[i]);
      s.conv = copy(meta.conv[i]);
      s.ssm = copy(meta.ssm[i]);
    });
    this.state.position = this.numMeta;
  }

  /** Feed prompt tokens (the first call, or a continuation) under the prefill mask; logits of the last one. */
  async prefill(ids: number[]): Promise<StepResult> {
    validateIds(this.config, ids, this.numMeta > 0);
    this.checkRoom(ids.length);
    // Without a precomputed meta state, the first prefill runs the meta tokens itself, in front of the text.
    const metaRows = this.state.position === 0 ? this.numMeta : 0;
    return this.run(embed(this.model, ids, metaRows), 'prefill', metaRows, ids.length);
  }

  /** Feed one token under the decode rule; logits of the next. */
  async step(id: number): Promise<StepResult> {
    if (this.textLength === 0) throw new InputError('step() before prefill(): feed the prompt with prefill() first');
    validateIds(this.config, [id], this.numMeta > 0);
    this.checkRoom(1);
    return this.run(embed(this.model, [id], 0), 'decode', 0, 1);
  }

  private checkRoom(n: number): void {
    if (this.textLength + n > this.maxContext) {
      throw new InputError(
        `the session holds ${this.textLength} tokens and can take ${this.maxContext - this.textLength} more (maxContext ${this.maxContext}); got ${n}`,
      );
    }
  }

  private run(x: Tensor, mask: 'prefill' | 'decode', metaRows: number, textRows: number): StepResult {
    const { hidden, taps } = this.chunk(x, mask, metaRows);
    const logits = lmHead(this.model, sliceRows(hidden, hidden.shape[0] - 1, hidden.shape[0])).data;
    if (this.wanted.has('logits')) taps.set('logits', lmHead(this.model, sliceRows(hidden, metaRows, hidden.shape[0])));
    this.textLength += textRows;
    return { logits, taps };
  }

  /**
   * One chunk from the current state (cpu/layer.ts), updating every cache and state. Keeps the wanted taps of the
   * text rows (the first `metaRows` rows are dropped); returns them with the final-normed hidden states [T, D].
   */
  private chunk(x: Tensor, mask: 'prefill' | 'decode', metaRows: number): { hidden: Tensor; taps: Map<string, Tensor> } {
    // Which keys a query sees: global causal; SWA q − k ≤ W in prefill, and W − 1 (`hf`) or W (`prefill`) in decode.
    const window = mask === 'decode' && this.windowRule === 'hf' ? this.window - 1 : this.window;
    const taps = new Map<string, Tensor>();
    const pass = hymbaPass(this.model, this.state, x, { numMeta: this.numMeta, window, keepStates: (n) => this.wanted.has(n) });
    const hidden = runPass(pass, (t) => {
      if (this.wanted.has(t.name)) taps.set(t.name, metaRows > 0 ? dropRows(t.name, t.value, metaRows) : t.value);
    });
    return { hidden, taps };
  }

  /** Held entries × bytes per entry of every layer (f32), by the calculator's formula; reserved = the slots allocated. */
  cacheUsage(): CacheUsage {
    const c = this.config;
    const f32 = { dtype: 'f32', stateDtype: 'f32', convTaps: c.dConv - 1 } as const;
    const kv = (i: number) => this.state.layers[i].kv;
    const layers = c.layers.map((l) => layerCache(c, l, kv(l.index)?.entries ?? 0, f32));
    const reserved = c.layers.reduce((a, l) => a + (kv(l.index)?.slots ?? 0) * kvEntryBytes(c, l, 'f32'), 0);
    return { ...toCacheUsage(totals(layers)), kv_reserved_bytes: reserved };
  }

  /** The KV cache a layer attends with (a consumer gets its producer's, with `layer` = the producer); null without attention. */
  async readKv(layer: number): Promise<KvSnapshot | null> {
    const l = this.config.layers[layer];
    if (!l) throw new InputError(`layer ${layer} does not exist (the model has ${this.config.numLayers} layers)`);
    if (!l.hasAttention) return null;
    const held = this.state.layers[l.kvSource].kv!.read();
    return { layer: l.kvSource, positions: held.positions, k: held.k, v: held.v };
  }

  dispose(): void {
    this.state.layers.length = 0;
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
