// Incremental generation: prefill a prompt, then decode one token at a time over real caches.
// Both backends implement DecodeSession; the cache accounting they report must equal engine/cache/calculator.ts.

import type { Ablation } from '../ablation.ts';
import type { Tensor } from '../tensor.ts';

/**
 * Sliding-window rule for cached decode (see shared golden NOTES.md, "the official code disagrees with itself"):
 * - `hf`: what NVIDIA's cached decode does — a new token sees the W newest entries (itself included) + meta tokens;
 * - `prefill`: consistent with the prefill mask — W + 1 newest entries (q − k ≤ W) + meta tokens.
 */
export type WindowRule = 'hf' | 'prefill';

export interface SessionOptions {
  windowRule?: WindowRule; // default 'hf'
  meta?: boolean; // default true
  window?: number; // default config.sliding_window
  ablation?: Ablation;
  /** Upper bound on text tokens (prompt + generated) the session must hold; sizes global-layer caches. */
  maxContext?: number;
  /** Tap names/patterns to read back on every prefill/step (same names as the forward pass; rows = new tokens). */
  taps?: string[];
  /**
   * Start from the model's precomputed meta-token state (hymba-spec.md §2.11; computed by the first session of the
   * model, then copied) instead of running the M meta tokens in this session's prefill. Default true; the results
   * are the same, only the time differs.
   */
  reuseMetaState?: boolean;
}

export interface StepResult {
  /** Logits of the last position fed [V]. */
  logits: Float32Array;
  taps: Map<string, Tensor>;
}

export interface LayerCacheUsage {
  layer: number;
  /** 'global' | 'swa' (KV owners), 'consumer' (reads another layer's KV), 'none' (no attention). */
  attention: 'global' | 'swa' | 'consumer' | 'none';
  kvSource: number;
  /** Entries (positions) currently held in this layer's own KV cache, meta slots included. */
  kvEntries: number;
  kv_bytes: number;
  /** Causal-conv states: the SSM's conv1d inputs and, with lab_qkv_conv, the Q/K/V conv's pre-conv rows. */
  conv_state_bytes: number;
  ssm_state_bytes: number;
}
export interface CacheUsage {
  kv_bytes: number;
  conv_state_bytes: number;
  ssm_state_bytes: number;
  total_bytes: number;
  /** KV bytes allocated, spare room included (a growing global cache, a ring not yet full); ≥ kv_bytes. */
  kv_reserved_bytes?: number;
  layers: LayerCacheUsage[];
}

/** What a layer's KV cache holds right now, in position order (for the cache widgets). */
export interface KvSnapshot {
  layer: number;
  positions: number[]; // absolute positions (meta tokens first)
  k: Tensor; // [entries, Hkv·dqk]
  v: Tensor; // [entries, Hkv·dv]
}

export interface DecodeSession {
  /** Text tokens processed so far (prompt + decoded). */
  readonly length: number;
  prefill(ids: number[]): Promise<StepResult>;
  step(id: number): Promise<StepResult>;
  cacheUsage(): CacheUsage;
  readKv(layer: number): Promise<KvSnapshot | null>;
  dispose(): void;
}
