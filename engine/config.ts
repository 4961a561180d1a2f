// A Hymba `config.json` (the official Hugging Face keys) turned into the sizes and the layer map the engine uses.
//
// Every key of the real Hymba-1.5B config is read here, with the official defaults. Keys that the official code
// accepts but that change nothing we support (MoE routing, interspersed meta tokens, QK-norm, …) are checked, and a
// value we cannot honour is refused with a ConfigError that names the key — never silently ignored.
//
// Hymba Lab adds a few optional keys (prefix `lab_`) for the teaching models. Each defaults to Hymba's behaviour:
//   lab_mixers:           per layer "hybrid" (attention ∥ SSM, the default), "attention" or "ssm"
//   lab_attention_heads:  per layer number of query heads (default num_attention_heads); each must be a multiple
//                         of num_key_value_heads and divide d_inner (the attention output is d_inner wide)
//   lab_qkv_conv:         width W of a causal depthwise convolution over each attention layer's Q/K/V projections
//                         (before RoPE; no bias, no activation; 0 = none, the default). It is Primer's "multi-dconv-head
//                         attention" (So et al. 2021) and gives a key the previous token's identity for free, which is
//                         what the tiny zoo models need to learn MQAR in a short budget (docs/zoo.md). Tensor:
//                         mamba.qkv_conv.weight [qkv columns, 1, W]; decode keeps the last W − 1 pre-conv rows.

export type Mixer = 'hybrid' | 'attention' | 'ssm';

export class ConfigError extends Error {
  readonly key: string;
  constructor(key: string, message: string) {
    super(`config.json: "${key}": ${message}`);
    this.name = 'ConfigError';
    this.key = key;
  }
}

/** One decoder layer, everything the forward pass needs to know about it. */
export interface LayerSpec {
  index: number;
  mixer: Mixer;
  hasAttention: boolean;
  hasSsm: boolean;
  /** Global layers attend causally over everything; the others use the sliding window (+ meta tokens). */
  global: boolean;
  /** The layer whose K/V this layer attends with (itself for an owner). -1 when the layer has no attention. */
  kvSource: number;
  /** True when the layer computes and caches its own K/V (global or SWA owner). */
  ownsKv: boolean;
  /** Query heads and their V head dim (numHeads · vHeadDim = dInner). */
  numHeads: number;
  vHeadDim: number;
  /** Width of the Q/K/V convolution (lab_qkv_conv) over in_proj columns [0, qkvColumns); 0 = none. */
  qkvConv: number;
  /** Q (+ own K, V) columns at the start of in_proj's output; 0 without attention. */
  qkvColumns: number;
  /** Row layout of `mamba.in_proj.weight`: [start, end) of each block, or null when absent. */
  rows: { q: Range | null; k: Range | null; v: Range | null; x: Range | null; z: Range | null; total: number };
}
export type Range = [number, number];

export interface HymbaConfig {
  /** The parsed JSON, untouched (kept so a saved model round-trips its config). */
  raw: Record<string, unknown>;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  /** Q/K head dim (kq_head_dim, default attn_hidden_size / num_attention_heads). */
  qkHeadDim: number;
  /** d_inner = mamba_expand · hidden_size: the width of both branches. */
  dInner: number;
  intermediateSize: number;
  numMetaTokens: number;
  slidingWindow: number;
  globalLayers: number[];
  kvReuseGroups: number[][];
  dState: number;
  dConv: number;
  dtRank: number;
  convBias: boolean;
  rmsNormEps: number;
  rope: boolean;
  ropeTheta: number;
  ropeType: 'ntk' | 'default';
  maxPositionEmbeddings: number;
  origMaxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  bosTokenId: number;
  eosTokenId: number;
  padTokenId: number;
  layers: LayerSpec[];
}

type Json = Record<string, unknown>;

/**
 * Upper bounds that keep parsing cheap whatever the file says: the per-layer work is O(layers), and every size
 * stays an i32 (what WebGPU indexes with). A real model is far below both (Hymba-1.5B: 32 layers, vocab 32001).
 */
const MAX_LAYERS = 1024;
const MAX_SIZE = 2 ** 31 - 1;

/** A JSON value shortened for an error message; never throws (a 10⁶-deep array would overflow JSON.stringify). */
export function brief(value: unknown, max = 80): string {
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = Array.isArray(value) ? '[…]' : typeof value === 'object' && value !== null ? '{…}' : String(value);
  }
  return s.length > max ? s.slice(0, max) + '…' : s;
}

function num(raw: Json, key: string, fallback?: number, opts: { int?: boolean; min?: number; max?: number } = {}): number {
  const v = raw[key];
  if (v === undefined || v === null) {
    if (fallback === undefined) throw new ConfigError(key, 'is missing (a number is required)');
    return fallback;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(key, `expected a number, got ${brief(v)}`);
  if (opts.int && !Number.isInteger(v)) throw new ConfigError(key, `expected an integer, got ${v}`);
  if (opts.min !== undefined && v < opts.min) throw new ConfigError(key, `expected ≥ ${opts.min}, got ${v}`);
  if (opts.max !== undefined && v > opts.max) throw new ConfigError(key, `expected ≤ ${opts.max}, got ${v}`);
  return v;
}

/** A size: an integer in [min, MAX_SIZE]. */
function size(raw: Json, key: string, fallback?: number, min = 1): number {
  return num(raw, key, fallback, { int: true, min, max: MAX_SIZE });
}

function bool(raw: Json, key: string, fallback: boolean): boolean {
  const v = raw[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw new ConfigError(key, `expected true or false, got ${brief(v)}`);
  return v;
}

function str(raw: Json, key: string, fallback: string): string {
  const v = raw[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') throw new ConfigError(key, `expected a string, got ${brief(v)}`);
  return v;
}

function intList(raw: Json, key: string, fallback: number[]): number[] {
  const v = raw[key];
  if (v === undefined || v === null) return fallback;
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x))) {
    throw new ConfigError(key, `expected a list of integers, got ${brief(v)}`);
  }
  return v as number[];
}

function requireValue(raw: Json, key: string, allowed: unknown[], fallback: unknown): void {
  const v = raw[key] ?? fallback;
  if (!allowed.includes(v)) {
    throw new ConfigError(key, `${brief(v)} is not supported (supported: ${allowed.map((a) => JSON.stringify(a)).join(', ')})`);
  }
}

/** Parse a Hymba config.json (text or parsed object). Throws ConfigError naming the offending key. */
export function parseConfig(input: string | Json): HymbaConfig {
  let raw: Json;
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input) as Json;
    } catch (e) {
      throw new ConfigError('(file)', `not valid JSON: ${(e as Error).message}`);
    }
  } else raw = input;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('(file)', 'expected a JSON object');

  const modelType = raw.model_type;
  if (modelType !== undefined && modelType !== 'hymba') throw new ConfigError('model_type', `expected "hymba", got ${brief(modelType)}`);

  const hiddenSize = size(raw, 'hidden_size');
  const numLayers = num(raw, 'num_hidden_layers', undefined, { int: true, min: 1, max: MAX_LAYERS });
  const numHeads = size(raw, 'num_attention_heads');
  const numKvHeads = size(raw, 'num_key_value_heads', numHeads);
  const vocabSize = size(raw, 'vocab_size');
  const intermediateSize = size(raw, 'intermediate_size');
  // -1 (the official default) means "derive it".
  let attnHidden = num(raw, 'attn_hidden_size', -1, { int: true, max: MAX_SIZE });
  if (attnHidden <= 0) attnHidden = hiddenSize;
  let qkHeadDim = num(raw, 'kq_head_dim', -1, { int: true, max: MAX_SIZE });
  if (qkHeadDim <= 0) {
    if (attnHidden % numHeads !== 0)
      throw new ConfigError('attn_hidden_size', `${attnHidden} is not divisible by num_attention_heads ${numHeads}`);
    qkHeadDim = attnHidden / numHeads;
  }
  if (qkHeadDim % 2 !== 0) throw new ConfigError('kq_head_dim', `RoPE needs an even head dim, got ${qkHeadDim}`);
  const expand = num(raw, 'mamba_expand', 2, { min: 1 });
  // The official code: int(mamba_expand * hidden_size), a truncation.
  const dInner = Math.floor(expand * hiddenSize);
  if (dInner > MAX_SIZE) throw new ConfigError('mamba_expand', `d_inner = ${expand} · ${hiddenSize} exceeds ${MAX_SIZE}`);
  const dState = size(raw, 'mamba_d_state', 16);
  const dConv = size(raw, 'mamba_d_conv', 4);
  const dtRankRaw = raw.mamba_dt_rank;
  const dtRank = dtRankRaw === 'auto' || dtRankRaw === undefined ? Math.ceil(hiddenSize / 16) : size(raw, 'mamba_dt_rank');
  const numMetaTokens = size(raw, 'num_memory_tokens', 0, 0);
  const slidingWindow = size(raw, 'sliding_window', 0, 0);
  const rmsNormEps = num(raw, 'rms_norm_eps', 1e-6, { min: 0 });
  const ropeTheta = num(raw, 'rope_theta', 10000, { min: 0 });
  if (ropeTheta === 0) throw new ConfigError('rope_theta', 'expected > 0, got 0');
  const ropeTypeRaw = str(raw, 'rope_type', 'default');
  if (ropeTypeRaw !== 'ntk' && ropeTypeRaw !== 'default')
    throw new ConfigError('rope_type', `${brief(ropeTypeRaw)} is not supported (supported: "ntk", "default")`);
  const maxPositionEmbeddings = size(raw, 'max_position_embeddings', 8192);
  const origMaxPositionEmbeddings = size(raw, 'orig_max_position_embeddings', maxPositionEmbeddings);
  const rope = bool(raw, 'rope', true);
  if (rope && ropeTypeRaw === 'ntk') {
    // ropeBase raises (2·max/orig − 1) to d/(d−2): that needs a positive base and d > 2.
    if (2 * maxPositionEmbeddings <= origMaxPositionEmbeddings) {
      throw new ConfigError(
        'orig_max_position_embeddings',
        `NTK scaling needs it below 2 · max_position_embeddings (${2 * maxPositionEmbeddings}), got ${origMaxPositionEmbeddings}`,
      );
    }
    if (qkHeadDim <= 2) throw new ConfigError('kq_head_dim', `NTK scaling needs a head dim above 2, got ${qkHeadDim}`);
  }

  // Keys the official code reads whose other values we do not implement.
  requireValue(raw, 'num_experts', [1], 1);
  requireValue(raw, 'num_mamba', [1], 1);
  requireValue(raw, 'memory_tokens_interspersed_every', [0], 0);
  requireValue(raw, 'kq_norm', ['none', null], 'none');
  requireValue(raw, 'mamba_proj_bias', [false], false);
  requireValue(raw, 'mamba_inner_layernorms', [true], true);
  requireValue(raw, 'hidden_act', ['silu'], 'silu');
  requireValue(raw, 'mlp_hidden_act', ['silu'], 'silu');
  const layerType = raw.layer_type;
  if (layerType !== undefined && (!Array.isArray(layerType) || layerType.length !== numLayers || layerType.some((t) => t !== 'h'))) {
    throw new ConfigError('layer_type', `expected ${numLayers} entries of "h" (hybrid block), got ${brief(layerType)}`);
  }

  const globalLayers = intList(raw, 'global_attn_idx', []);
  const isGlobal = new Set<number>();
  for (const g of globalLayers) {
    if (g < 0 || g >= numLayers) throw new ConfigError('global_attn_idx', `layer ${g} is outside 0..${numLayers - 1}`);
    if (isGlobal.has(g)) throw new ConfigError('global_attn_idx', `layer ${g} is listed twice`);
    isGlobal.add(g);
  }
  if (globalLayers.length < numLayers && slidingWindow <= 0) {
    throw new ConfigError('sliding_window', `must be ≥ 1 when some layers are not in global_attn_idx (got ${slidingWindow})`);
  }
  const groupsRaw = raw.kv_reuse_group ?? [];
  if (!Array.isArray(groupsRaw) || !groupsRaw.every((g) => Array.isArray(g) && g.length >= 2 && g.every((x) => Number.isInteger(x)))) {
    throw new ConfigError('kv_reuse_group', `expected a list of groups of ≥ 2 layer indices, got ${brief(groupsRaw)}`);
  }
  const kvReuseGroups = groupsRaw as number[][];

  const mixers = parseMixers(raw, numLayers);
  const headsPerLayer = intList(raw, 'lab_attention_heads', Array(numLayers).fill(numHeads));
  const qkvConv = num(raw, 'lab_qkv_conv', 0, { int: true, min: 0, max: 8 });
  if (headsPerLayer.length !== numLayers)
    throw new ConfigError('lab_attention_heads', `expected ${numLayers} entries, got ${headsPerLayer.length}`);

  // Which layer's K/V each layer uses: producers are the first element of a group.
  const kvSource = Array.from({ length: numLayers }, (_, i) => i);
  const seen = new Set<number>();
  for (const group of kvReuseGroups) {
    for (const l of group) {
      if (l < 0 || l >= numLayers) throw new ConfigError('kv_reuse_group', `layer ${l} is outside 0..${numLayers - 1}`);
      if (seen.has(l)) throw new ConfigError('kv_reuse_group', `layer ${l} appears in two groups`);
      seen.add(l);
    }
    const [producer, ...consumers] = group;
    for (const c of consumers) {
      if (c <= producer) throw new ConfigError('kv_reuse_group', `consumer ${c} must come after its producer ${producer}`);
      if (isGlobal.has(c) !== isGlobal.has(producer)) {
        throw new ConfigError('kv_reuse_group', `layers ${producer} and ${c} share K/V but only one is global`);
      }
      kvSource[c] = producer;
    }
  }

  const layers: LayerSpec[] = [];
  for (let i = 0; i < numLayers; i++) {
    const mixer = mixers[i];
    const hasAttention = mixer !== 'ssm';
    const hasSsm = mixer !== 'attention';
    const heads = headsPerLayer[i];
    if (hasAttention) {
      if (heads < 1 || heads % numKvHeads !== 0) {
        throw new ConfigError(
          'lab_attention_heads',
          `layer ${i}: ${heads} query heads is not a positive multiple of num_key_value_heads ${numKvHeads}`,
        );
      }
      if (dInner % heads !== 0)
        throw new ConfigError('lab_attention_heads', `layer ${i}: d_inner ${dInner} is not divisible by ${heads} heads`);
    }
    const ownsKv = hasAttention && kvSource[i] === i;
    if (hasAttention && !ownsKv && mixers[kvSource[i]] === 'ssm') {
      throw new ConfigError('kv_reuse_group', `layer ${i} reuses the K/V of layer ${kvSource[i]}, which has no attention`);
    }
    const vHeadDim = hasAttention ? dInner / heads : 0;
    // Row blocks of in_proj in the official order Q | K | V | x | z.
    let at = 0;
    const take = (n: number, present: boolean): Range | null => {
      if (!present) return null;
      const r: Range = [at, at + n];
      at += n;
      return r;
    };
    const q = take(heads * qkHeadDim, hasAttention);
    const k = take(numKvHeads * qkHeadDim, ownsKv);
    const v = take(numKvHeads * vHeadDim, ownsKv);
    const x = take(dInner, hasSsm);
    const z = take(dInner, hasSsm);
    layers.push({
      index: i,
      mixer,
      hasAttention,
      hasSsm,
      global: isGlobal.has(i),
      kvSource: hasAttention ? kvSource[i] : -1,
      ownsKv,
      numHeads: hasAttention ? heads : 0,
      vHeadDim,
      qkvConv: hasAttention ? qkvConv : 0,
      qkvColumns: hasAttention ? (v ?? q)![1] : 0,
      rows: { q, k, v, x, z, total: at },
    });
  }
  // A consumer's V head dim must match its producer's cache.
  for (const l of layers) {
    if (l.hasAttention && !l.ownsKv && layers[l.kvSource].vHeadDim !== l.vHeadDim) {
      throw new ConfigError('lab_attention_heads', `layer ${l.index} shares K/V with layer ${l.kvSource} but their V head dims differ`);
    }
  }

  return {
    raw,
    vocabSize,
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads,
    qkHeadDim,
    dInner,
    intermediateSize,
    numMetaTokens,
    slidingWindow,
    globalLayers,
    kvReuseGroups,
    dState,
    dConv,
    dtRank,
    convBias: bool(raw, 'mamba_conv_bias', true),
    rmsNormEps,
    rope,
    ropeTheta,
    ropeType: ropeTypeRaw,
    maxPositionEmbeddings,
    origMaxPositionEmbeddings,
    tieWordEmbeddings: bool(raw, 'tie_word_embeddings', true),
    bosTokenId: num(raw, 'bos_token_id', 1, { int: true }),
    eosTokenId: num(raw, 'eos_token_id', 2, { int: true }),
    padTokenId: num(raw, 'pad_token_id', 0, { int: true }),
    layers,
  };
}

function parseMixers(raw: Json, numLayers: number): Mixer[] {
  const v = raw.lab_mixers;
  if (v === undefined || v === null) return Array(numLayers).fill('hybrid');
  if (!Array.isArray(v) || v.length !== numLayers || !v.every((m) => m === 'hybrid' || m === 'attention' || m === 'ssm')) {
    throw new ConfigError('lab_mixers', `expected ${numLayers} entries of "hybrid", "attention" or "ssm", got ${brief(v)}`);
  }
  return v as Mixer[];
}

/**
 * The RoPE base actually used. With rope_type "ntk" the official code scales the base statically:
 * base · (factor · max / orig − (factor − 1)) ^ (d / (d − 2)) with factor = 2 (hard-coded there).
 */
export function ropeBase(c: HymbaConfig): number {
  if (c.ropeType !== 'ntk') return c.ropeTheta;
  const factor = 2;
  const d = c.qkHeadDim;
  const scale = (factor * c.maxPositionEmbeddings) / c.origMaxPositionEmbeddings - (factor - 1);
  return c.ropeTheta * scale ** (d / (d - 2));
}

/** Every tensor a checkpoint of this config must hold, with its shape (official names; lm_head optional). */
export function expectedTensors(c: HymbaConfig): Map<string, number[]> {
  const t = new Map<string, number[]>();
  const D = c.hiddenSize;
  const E = c.dInner;
  t.set('model.embed_tokens.weight', [c.vocabSize, D]);
  if (c.numMetaTokens > 0) t.set('model.memory_tokens', [c.numMetaTokens, D]);
  t.set('model.final_layernorm.weight', [D]);
  for (const l of c.layers) {
    const p = `model.layers.${l.index}.`;
    t.set(p + 'input_layernorm.weight', [D]);
    t.set(p + 'mamba.in_proj.weight', [l.rows.total, D]);
    if (l.hasSsm) {
      t.set(p + 'mamba.conv1d.weight', [E, 1, c.dConv]);
      if (c.convBias) t.set(p + 'mamba.conv1d.bias', [E]);
      t.set(p + 'mamba.x_proj.0.weight', [c.dtRank + 2 * c.dState, E]);
      t.set(p + 'mamba.dt_proj.0.weight', [E, c.dtRank]);
      t.set(p + 'mamba.dt_proj.0.bias', [E]);
      t.set(p + 'mamba.A_log.0', [E, c.dState]);
      t.set(p + 'mamba.D.0', [E]);
      t.set(p + 'mamba.dt_layernorm.weight', [c.dtRank]);
      t.set(p + 'mamba.B_layernorm.weight', [c.dState]);
      t.set(p + 'mamba.C_layernorm.weight', [c.dState]);
      t.set(p + 'mamba.pre_avg_layernorm2.weight', [E]);
    }
    if (l.hasAttention) t.set(p + 'mamba.pre_avg_layernorm1.weight', [E]);
    if (l.qkvConv > 0) t.set(p + 'mamba.qkv_conv.weight', [l.qkvColumns, 1, l.qkvConv]);
    t.set(p + 'mamba.out_proj.weight', [D, E]);
    t.set(p + 'pre_moe_layernorm.weight', [D]);
    t.set(p + 'moe.experts.0.gate_proj.weight', [c.intermediateSize, D]);
    t.set(p + 'moe.experts.0.up_proj.weight', [c.intermediateSize, D]);
    t.set(p + 'moe.experts.0.down_proj.weight', [D, c.intermediateSize]);
  }
  if (!c.tieWordEmbeddings) t.set('lm_head.weight', [c.vocabSize, D]);
  return t;
}

export function parameterCount(c: HymbaConfig): number {
  let n = 0;
  for (const shape of expectedTensors(c).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}
