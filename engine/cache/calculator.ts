// How many bytes of per-sequence state a model holds while it generates: the KV caches of its attention layers
// and, for Hymba, the conv and SSM states of its SSM heads. Analytic (no GPU), batch 1.
//
// These numbers are defined to equal what a Hymba Lab generation session allocates after every step, so the
// definitions below are exact rules, not estimates:
//
// seqLen: text tokens processed so far (prompt + generated, BOS included). The M meta tokens come on top
// (M = num_memory_tokens, or 0 with `meta: false`). W = sliding_window, or the `window` option (as in SessionOptions).
//
// KV entries per layer (one entry = one position's K and V):
//   global owner:          M + seqLen                     (never trimmed)
//   SWA owner, rule 'hf':      M + min(seqLen, W)         (meta slots + the W newest positions, the current one included)
//   SWA owner, rule 'prefill': M + min(seqLen, W + 1)     (meta slots + W + 1 newest: the flex prefill mask q − k ≤ W)
//   consumer (reuses another layer's K/V):  0
//   layer without attention:                0
// The official HF code keeps its whole prefill in the SWA caches and trims only at the first decode step
// (golden README `kv_cache_len_after_each_step`: 48, 24, 24 … for M = 8, W = 16, 40 prompt tokens). Our session
// trims right after prefill, since later queries only need the window; the calculator describes that trimmed
// state, which equals HF's from the first decode step on (hymba-spec.md §2.10).
//
// One entry holds K (numKvHeads · qkHeadDim values) and V (numKvHeads · vHeadDim values; vHeadDim is the owner
// layer's) at `dtype`.
//
// SSM layers (every layer whose mixer has an SSM head), independent of seqLen:
//   conv state:  dInner × convTaps values at stateDtype. convTaps defaults to dConv − 1 (the inputs the causal
//                conv still needs); the official HF cache keeps dConv.
//   SSM state:   dInner × dState values at stateDtype (default f32: the session keeps its recurrent state in f32;
//                HF keeps it in the model dtype).
//
// Attention layers with lab_qkv_conv = W > 0 (a causal conv over Q/K/V, config.ts), independent of seqLen:
//   Q/K/V conv state: qkvColumns × (W − 1) values at stateDtype (the pre-conv rows the conv still needs; convTaps
//                     does not apply, it is the SSM conv's HF convention). Counted in conv_state_bytes, so the totals
//                     stay kv + conv + ssm; a plain Hymba config has none.
//
// Dense Transformer baselines cache every position in every layer: 2 · layers · kvHeads · headDim · seqLen · bytes.
//
// The paper's numbers (docs/cache.md): baselines use seqLen 8000, f16, MB = 10^6 B. Hymba-1.5B's KV alone is then
// 77.78 MB; its 78.6 MB (Table 1) is matched by adding a 4-tap f16 conv state (0.82 MB) and no SSM state.

import type { HymbaConfig, LayerSpec } from '../config.ts';
import { isTransformer, type ModelSpec } from '../presets.ts';
import type { CacheUsage, LayerCacheUsage, WindowRule } from '../session/types.ts';

export type { WindowRule };
export type CacheDtype = 'f16' | 'bf16' | 'f32';
export type LayerCacheKind = 'global' | 'swa' | 'consumer' | 'ssm-only';

export const DTYPES: readonly CacheDtype[] = ['f16', 'bf16', 'f32'];
export const WINDOW_RULES: readonly WindowRule[] = ['hf', 'prefill'];
/** The paper's megabyte. */
export const MB = 1e6;

const BYTES: Record<CacheDtype, number> = { f16: 2, bf16: 2, f32: 4 };

export interface CacheOptions {
  /** Text tokens processed so far (prompt + generated); meta tokens are added on top. */
  seqLen: number;
  /** KV cache element type. Default f16 (the paper's convention). */
  dtype?: CacheDtype;
  /** SWA window rule, see the top of this file. Default 'hf'. */
  windowRule?: WindowRule;
  /** Conv and SSM state element type. Default f32 (what the session keeps). */
  stateDtype?: CacheDtype;
  /** Conv inputs kept per channel. Default dConv − 1. */
  convTaps?: number;
  /** Prepend the meta tokens (default true); off, M = 0. Same meaning as SessionOptions.meta. */
  meta?: boolean;
  /** Sliding window W of the non-global layers (default the config's sliding_window), as SessionOptions.window. */
  window?: number;
}

export interface LayerCache {
  layer: number;
  kind: LayerCacheKind;
  /** The layer whose K/V this layer reads (itself for an owner); -1 without attention. */
  kv_source: number;
  kv_entries: number;
  kv_bytes: number;
  conv_state_bytes: number;
  ssm_state_bytes: number;
}

export interface CacheBreakdown {
  seq_len: number;
  dtype: CacheDtype;
  window_rule: WindowRule;
  state_dtype: CacheDtype;
  conv_taps: number;
  kv_bytes: number;
  ssm_state_bytes: number;
  conv_state_bytes: number;
  total_bytes: number;
  layers: LayerCache[];
}

export class CacheOptionsError extends Error {
  readonly option: string;
  constructor(option: string, message: string) {
    super(`cache option "${option}": ${message}`);
    this.name = 'CacheOptionsError';
    this.option = option;
  }
}

interface Resolved {
  seqLen: number;
  dtype: CacheDtype;
  windowRule: WindowRule;
  stateDtype: CacheDtype;
  convTaps: number | undefined;
  meta: boolean;
  window: number | undefined;
}

function resolveOptions(o: CacheOptions): Resolved {
  if (!Number.isInteger(o.seqLen) || o.seqLen < 0) throw new CacheOptionsError('seqLen', `expected an integer ≥ 0, got ${o.seqLen}`);
  const dtype = o.dtype ?? 'f16';
  const stateDtype = o.stateDtype ?? 'f32';
  const windowRule = o.windowRule ?? 'hf';
  if (!DTYPES.includes(dtype)) throw new CacheOptionsError('dtype', `expected one of ${DTYPES.join(', ')}, got ${JSON.stringify(dtype)}`);
  if (!DTYPES.includes(stateDtype))
    throw new CacheOptionsError('stateDtype', `expected one of ${DTYPES.join(', ')}, got ${JSON.stringify(stateDtype)}`);
  if (!WINDOW_RULES.includes(windowRule))
    throw new CacheOptionsError('windowRule', `expected one of ${WINDOW_RULES.join(', ')}, got ${JSON.stringify(windowRule)}`);
  if (o.convTaps !== undefined && (!Number.isInteger(o.convTaps) || o.convTaps < 0)) {
    throw new CacheOptionsError('convTaps', `expected an integer ≥ 0, got ${o.convTaps}`);
  }
  if (o.window !== undefined && (!Number.isInteger(o.window) || o.window < 1))
    throw new CacheOptionsError('window', `expected an integer ≥ 1, got ${o.window}`);
  return { seqLen: o.seqLen, dtype, windowRule, stateDtype, convTaps: o.convTaps, meta: o.meta ?? true, window: o.window };
}

/** A layer's attention, as a session reports it (session/types.ts LayerCacheUsage). */
export function attentionKind(l: LayerSpec): LayerCacheUsage['attention'] {
  return !l.hasAttention ? 'none' : !l.ownsKv ? 'consumer' : l.global ? 'global' : 'swa';
}

function layerKind(l: LayerSpec): LayerCacheKind {
  const kind = attentionKind(l);
  return kind === 'none' ? 'ssm-only' : kind;
}

/** Text positions an SWA owner keeps besides its meta slots: W (rule 'hf') or W + 1 (rule 'prefill'). */
export function swaKeep(window: number, windowRule: WindowRule): number {
  return windowRule === 'hf' ? window : window + 1;
}

/** Positions a layer holds in its own KV cache after `seqLen` text tokens (the rules at the top of this file). */
export function kvEntries(l: LayerSpec, seqLen: number, meta: number, window: number, windowRule: WindowRule): number {
  if (!l.ownsKv) return 0;
  if (l.global) return meta + seqLen;
  return meta + Math.min(seqLen, swaKeep(window, windowRule));
}

/** Bytes of one KV entry of an owner layer: K (numKvHeads · qkHeadDim) and V (numKvHeads · vHeadDim) values. */
export function kvEntryBytes(c: HymbaConfig, l: LayerSpec, dtype: CacheDtype): number {
  return c.numKvHeads * (c.qkHeadDim + l.vHeadDim) * BYTES[dtype];
}

/** One layer's bytes when its own KV cache holds `entries` positions (a session passes what it holds). */
export function layerCache(
  c: HymbaConfig,
  l: LayerSpec,
  entries: number,
  o: { dtype: CacheDtype; stateDtype: CacheDtype; convTaps: number },
): LayerCache {
  return {
    layer: l.index,
    kind: layerKind(l),
    kv_source: l.kvSource,
    kv_entries: entries,
    kv_bytes: entries * kvEntryBytes(c, l, o.dtype),
    conv_state_bytes: ((l.hasSsm ? c.dInner * o.convTaps : 0) + qkvConvValues(l)) * BYTES[o.stateDtype],
    ssm_state_bytes: l.hasSsm ? c.dInner * c.dState * BYTES[o.stateDtype] : 0,
  };
}

function hymbaCache(c: HymbaConfig, o: Resolved): Omit<CacheBreakdown, 'seq_len' | 'dtype' | 'window_rule' | 'state_dtype'> {
  const convTaps = o.convTaps ?? c.dConv - 1;
  const meta = o.meta ? c.numMetaTokens : 0;
  const window = o.window ?? c.slidingWindow;
  const layers = c.layers.map((l) =>
    layerCache(c, l, kvEntries(l, o.seqLen, meta, window, o.windowRule), { dtype: o.dtype, stateDtype: o.stateDtype, convTaps }),
  );
  return { conv_taps: convTaps, ...totals(layers) };
}

/** Values of a layer's Q/K/V conv state (lab_qkv_conv): the last W − 1 pre-conv rows of its Q/K/V columns. */
export function qkvConvValues(l: LayerSpec): number {
  return l.qkvConv > 0 ? l.qkvColumns * (l.qkvConv - 1) : 0;
}

type Bytes = Pick<LayerCache, 'kv_bytes' | 'ssm_state_bytes' | 'conv_state_bytes'>;

/** The totals over per-layer bytes (calculator and session layers alike). */
function sums(layers: readonly Bytes[]) {
  const sum = (key: keyof Bytes) => layers.reduce((a, l) => a + l[key], 0);
  const kv = sum('kv_bytes');
  const ssm = sum('ssm_state_bytes');
  const conv = sum('conv_state_bytes');
  return { kv_bytes: kv, ssm_state_bytes: ssm, conv_state_bytes: conv, total_bytes: kv + ssm + conv };
}

/** Per-layer bytes with their totals. */
export function totals(
  layers: LayerCache[],
): Pick<CacheBreakdown, 'kv_bytes' | 'ssm_state_bytes' | 'conv_state_bytes' | 'total_bytes' | 'layers'> {
  return { ...sums(layers), layers };
}

/** A session's usage from its per-layer usage; `reserved` = the KV bytes its buffers hold, spare room included. */
export function totalUsage(layers: LayerCacheUsage[], reserved: number): CacheUsage {
  return { ...sums(layers), kv_reserved_bytes: reserved, layers };
}

/** Bytes of per-sequence state after `seqLen` text tokens, in total and per layer. Throws CacheOptionsError. */
export function cacheBytes(model: ModelSpec, opts: CacheOptions): CacheBreakdown {
  const o = resolveOptions(opts);
  const head = { seq_len: o.seqLen, dtype: o.dtype, window_rule: o.windowRule, state_dtype: o.stateDtype };
  if (isTransformer(model)) {
    const perLayer = o.seqLen * 2 * model.kvHeads * model.headDim * BYTES[o.dtype];
    const layers = Array.from({ length: model.layers }, (_, i): LayerCache => ({
      layer: i,
      kind: 'global',
      kv_source: i,
      kv_entries: o.seqLen,
      kv_bytes: perLayer,
      conv_state_bytes: 0,
      ssm_state_bytes: 0,
    }));
    return { ...head, conv_taps: 0, ...totals(layers) };
  }
  return { ...head, ...hymbaCache(model, o) };
}

export interface CachePoint {
  seq_len: number;
  kv_bytes: number;
  ssm_state_bytes: number;
  conv_state_bytes: number;
  total_bytes: number;
}

/** Cache size at each sequence length, for plots (no per-layer detail). */
export function cacheCurve(model: ModelSpec, seqLens: readonly number[], opts: Omit<CacheOptions, 'seqLen'> = {}): CachePoint[] {
  return seqLens.map((seqLen) => {
    const b = cacheBytes(model, { ...opts, seqLen });
    return {
      seq_len: seqLen,
      kv_bytes: b.kv_bytes,
      ssm_state_bytes: b.ssm_state_bytes,
      conv_state_bytes: b.conv_state_bytes,
      total_bytes: b.total_bytes,
    };
  });
}

/** The breakdown in the shape a DecodeSession reports (session/types.ts CacheUsage), so the two compare with toEqual. */
export function toCacheUsage(b: ReturnType<typeof totals>): CacheUsage {
  return {
    kv_bytes: b.kv_bytes,
    conv_state_bytes: b.conv_state_bytes,
    ssm_state_bytes: b.ssm_state_bytes,
    total_bytes: b.total_bytes,
    layers: b.layers.map((l) => ({
      layer: l.layer,
      attention: l.kind === 'ssm-only' ? 'none' : l.kind,
      kvSource: l.kv_source,
      kvEntries: l.kv_entries,
      kv_bytes: l.kv_bytes,
      conv_state_bytes: l.conv_state_bytes,
      ssm_state_bytes: l.ssm_state_bytes,
    })),
  };
}
