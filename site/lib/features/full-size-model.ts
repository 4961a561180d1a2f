// The numbers <hymba-full-size> shows, as plain functions of a config (no DOM): the layer map, the cache table,
// a reduced-depth copy of the 1.5B config for quick speed runs, and the memory a load needs.
import { expectedTensors, parseConfig, type HymbaConfig } from '../../../engine/config.ts';
import { cacheBytes } from '../../../engine/cache/calculator.ts';
import { getPreset, type HymbaPreset, type TransformerPreset } from '../../../engine/presets.ts';
import { layerKind, type LayerKind } from '../content/configs.ts';

export interface LayerCell {
  layer: number;
  kind: LayerKind;
  /** The layer whose K/V it attends with (itself for an owner). */
  owner: number;
  /** The layers that reuse this owner's K/V. */
  consumers: number[];
}

export function layerMap(c: HymbaConfig): LayerCell[] {
  return c.layers.map((l) => ({
    layer: l.index,
    kind: layerKind(c, l.index),
    owner: l.kvSource,
    consumers: c.layers.filter((o) => o.kvSource === l.index && o.index !== l.index).map((o) => o.index),
  }));
}

export interface CacheRow {
  tokens: number;
  hymbaKv: number;
  /** SSM + conv state (constant in the length), at the same dtype as the KV. */
  hymbaState: number;
  baselineKv: number;
  /** baselineKv / hymbaKv */
  ratio: number;
}

/** KV bytes at each length, FP16, MB = 10^6 B, 8k = 8,000 tokens: the conventions that reproduce the paper. */
export function cacheTable(c: HymbaConfig, baseline: TransformerPreset, lengths: readonly number[]): CacheRow[] {
  return lengths.map((tokens) => {
    const h = cacheBytes(c, { seqLen: tokens, dtype: 'f16', stateDtype: 'f16' });
    const b = cacheBytes(baseline, { seqLen: tokens, dtype: 'f16' });
    return {
      tokens,
      hymbaKv: h.kv_bytes,
      hymbaState: h.ssm_state_bytes + h.conv_state_bytes,
      baselineKv: b.kv_bytes,
      ratio: b.kv_bytes / h.kv_bytes,
    };
  });
}

/** Parameters and their bytes at 2 bytes each (bf16, as NVIDIA ships them). */
export function parameterCount(c: HymbaConfig): number {
  let n = 0;
  for (const shape of expectedTensors(c).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/**
 * The 1.5B config cut to its first `layers` layers (same widths), for speed runs on slow GPUs and in tests. The
 * global layers and KV-sharing groups are kept where they fall inside; a group left with only its producer goes.
 */
export function reducedConfig(raw: Record<string, unknown>, layers: number): HymbaConfig {
  const total = raw.num_hidden_layers as number;
  if (!Number.isInteger(layers) || layers < 1 || layers > total)
    throw new RangeError(`layers must be an integer in 1..${total}, got ${layers}`);
  if (layers === total) return parseConfig(raw);
  const groups = (raw.kv_reuse_group as number[][]).map((g) => g.filter((i) => i < layers)).filter((g) => g.length > 1 && g[0] < layers);
  const convDim = Object.fromEntries(Object.entries(raw.conv_dim as Record<string, number>).filter(([k]) => Number(k) < layers));
  return parseConfig({
    ...raw,
    num_hidden_layers: layers,
    layer_type: (raw.layer_type as string[]).slice(0, layers),
    conv_dim: convDim,
    global_attn_idx: (raw.global_attn_idx as number[]).filter((i) => i < layers),
    kv_reuse_group: groups,
  });
}

export function hymba15bRaw(): Record<string, unknown> {
  return (getPreset('hymba-1.5b') as HymbaPreset).config;
}

export interface MemoryEstimate {
  /** Weights on the GPU: matrices in their stored dtype, vectors as f32. */
  weights: number;
  /** KV caches + states of one session of `context` tokens, plus activations of one decode step (rough). */
  session: number;
  total: number;
  /** The largest single weight (bytes), against the device's per-buffer limit. */
  largestTensor: number;
}

/** What loading `c` with 16-bit weights and running one chat of `context` tokens needs on the GPU. */
export function estimateGpuMemory(c: HymbaConfig, bytesPerWeight: number, context: number): MemoryEstimate {
  let weights = 0;
  let largestTensor = 0;
  for (const shape of expectedTensors(c).values()) {
    const n = shape.reduce((a, b) => a * b, 1);
    const bytes = shape.length >= 2 && shape[0] > 1 && n >= 4096 ? n * bytesPerWeight : n * 4;
    weights += bytes;
    largestTensor = Math.max(largestTensor, bytes);
  }
  const cache = cacheBytes(c, { seqLen: context, dtype: 'f32', stateDtype: 'f32' }).total_bytes;
  // One decode step's activations: a few vectors of the widest projections and the logits, f32.
  const activations = 4 * (8 * (c.hiddenSize + c.dInner + c.intermediateSize) + 4 * c.vocabSize);
  const session = cache + activations;
  return { weights, session, total: weights + session, largestTensor };
}
