// The parts of cache accounting both session backends share: a layer's attention kind and the totals.
import type { LayerSpec } from '../config.ts';
import type { CacheUsage, LayerCacheUsage } from './types.ts';

export function attentionKind(l: LayerSpec): LayerCacheUsage['attention'] {
  return !l.hasAttention ? 'none' : !l.ownsKv ? 'consumer' : l.global ? 'global' : 'swa';
}

/** Totals over the per-layer usage; `reserved` = the KV bytes the buffers hold, spare room included. */
export function totalUsage(layers: LayerCacheUsage[], reserved: number): CacheUsage {
  const sum = (k: 'kv_bytes' | 'conv_state_bytes' | 'ssm_state_bytes') => layers.reduce((a, l) => a + l[k], 0);
  const kv = sum('kv_bytes');
  const conv = sum('conv_state_bytes');
  const ssm = sum('ssm_state_bytes');
  return { kv_bytes: kv, conv_state_bytes: conv, ssm_state_bytes: ssm, total_bytes: kv + conv + ssm, kv_reserved_bytes: reserved, layers };
}
